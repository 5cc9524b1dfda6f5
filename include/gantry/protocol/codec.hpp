#pragma once
// Encodes protocol messages (messages.hpp) into WebSocket frames and decodes
// them back. Text frames are JSON objects {"t": TYPE, ...}; log chunks are
// binary frames [4-byte big-endian header length][JSON LogChunk][payload].
// Decoding never throws: malformed, oversized or unknown input comes back as
// a DecodeError with a message fit for a "bad_message" nack. Pure functions.

#include <string>
#include <string_view>
#include <variant>

#include "gantry/protocol/messages.hpp"

namespace gantry::protocol {

struct DecodeError {
  std::string message;
};

std::string encode(const AgentMessage& m);
std::string encode(const ControllerMessage& m);
std::string encode_log(const LogChunk& header, std::string_view payload);

std::variant<AgentMessage, DecodeError> decode_agent(std::string_view text);
std::variant<ControllerMessage, DecodeError> decode_controller(std::string_view text);

// The body of POST .../notify and its answer (JSON objects, not tagged frames).
std::string encode_notify(const Notify& m);
std::variant<Notify, DecodeError> decode_notify(std::string_view text);
std::string encode_notify_reply(const NotifyReply& m);
std::variant<NotifyReply, DecodeError> decode_notify_reply(std::string_view text);

// On success `payload` points into `frame`.
bool decode_log(std::string_view frame, LogChunk& header, std::string_view& payload,
                std::string& error);

}  // namespace gantry::protocol
