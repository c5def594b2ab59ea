//! HTTP proxies: which proxy a target goes through, from settings or from the environment handed
//! in as data (the core reads no environment).
