//! ZStack (docs/api-coverage.md → ZStack): sessions and the plug-in-driver APIs over the driver
//! registry, in both of the vendor's API styles — REST under `/zstack/v1` (`handlers`) and the
//! RPC endpoint `POST /zstack/api/` (`rpc`) — each with its own authenticator (`auth`) and its
//! own way of answering errors (`error`).

pub mod auth;
pub mod dto;
pub mod error;
pub mod handlers;
pub mod routes;
pub mod rpc;
