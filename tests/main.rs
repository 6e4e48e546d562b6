//! Packyard's integration tests, one binary: API scenarios in-process, adapter contract suites against the
//! real emulators, API Gateway events through the Lambda handler path and through the function binaries under a
//! Lambda Runtime API emulator, and the `packyard` binary (dev, serve, push).

mod api;
mod aws_policy;
mod clients;
mod contract;
mod devserver;
mod lambda_events;
mod lambda_runtime;
mod push;
mod storage_links;
