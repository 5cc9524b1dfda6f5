// JSON codec of the agent protocol. nlohmann_json stays in this file.
#include <nlohmann/json.hpp>

#include "gantry/protocol/codec.hpp"

namespace gantry::protocol {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ResumeJob, job_id, epoch, spooled_bytes, finished)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Hello, agent_id, instance_id, name, labels,
                                                executors, version, resume)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JobRef, job_id, epoch)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Heartbeat, jobs)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Accept, job_id, epoch)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StepEvent, job_id, epoch, step, state)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TestCounts, total, failed, skipped)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Finish, job_id, epoch, result, reason, log_bytes,
                                                dropped_bytes, tests, inconclusive, fenced,
                                                env_changes, script_state, description,
                                                display_name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogChunk, job_id, epoch, offset)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ResumeVerdict, job_id, epoch, verdict, committed,
                                                cancel)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Welcome, session_id, heartbeat_ms, lease_ttl_ms,
                                                resume, term)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    JobSpec, run_id, run_number, job_name, stage_id, stage_name, attempt, pipeline_source,
    pipeline_format, repo_url, commit, workspace, env, secrets, credentials, current_result,
    previous_result, timeout_ms, cancel_grace_ms, skip_checkout, mode, script_state, description,
    display_name, groovy_env, libraries, tools, log_prelude, checkout_secret, known_hosts, git_ca)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Assign, job_id, epoch, spec, job_token)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogAck, job_id, epoch, committed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Cancel, job_id, epoch, reason, grace_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FinishAck, job_id, epoch)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Nack, job_id, epoch, code, message, expected)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Notify, job_id, epoch, seq, kind, fields)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NotifyReply, status, message)

namespace {

using nlohmann::json;

// The wire name of each message type, in variant order.
template <typename T>
struct Tag;
#define GANTRY_TAG(Type, name)                 \
  template <>                                  \
  struct Tag<Type> {                           \
    static constexpr const char* kName = name; \
  };
GANTRY_TAG(Hello, "hello")
GANTRY_TAG(Heartbeat, "hb")
GANTRY_TAG(Accept, "accept")
GANTRY_TAG(StepEvent, "step")
GANTRY_TAG(Finish, "finish")
GANTRY_TAG(Welcome, "welcome")
GANTRY_TAG(Assign, "assign")
GANTRY_TAG(LogAck, "log_ack")
GANTRY_TAG(Cancel, "cancel")
GANTRY_TAG(FinishAck, "finish_ack")
GANTRY_TAG(Nack, "nack")
GANTRY_TAG(HeartbeatAck, "hb_ack")
#undef GANTRY_TAG

template <typename T>
json to_tagged(const T& m) {
  json j;
  if constexpr (!std::is_same_v<T, HeartbeatAck>) j = m;
  if (!j.is_object()) j = json::object();
  j["t"] = Tag<T>::kName;
  return j;
}

template <typename Variant, size_t I = 0>
bool from_tagged(const json& j, std::string_view tag, Variant& out) {
  if constexpr (I < std::variant_size_v<Variant>) {
    using T = std::variant_alternative_t<I, Variant>;
    if (tag == Tag<T>::kName) {
      T value{};
      if constexpr (!std::is_same_v<T, HeartbeatAck>) value = j.get<T>();
      out = std::move(value);
      return true;
    }
    return from_tagged<Variant, I + 1>(j, tag, out);
  } else {
    return false;
  }
}

// An untagged JSON object (the notify body and its reply).
template <typename T>
std::variant<T, DecodeError> decode_plain(std::string_view text, const char* what) {
  if (text.size() > kMaxTextFrame) return DecodeError{std::string(what) + " larger than 1 MiB"};
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return DecodeError{std::string(what) + " is not a JSON object"};
  try {
    return j.get<T>();
  } catch (const json::exception& e) {
    return DecodeError{"bad " + std::string(what) + ": " + e.what()};
  }
}

template <typename Variant>
std::variant<Variant, DecodeError> decode(std::string_view text) {
  if (text.size() > kMaxTextFrame) return DecodeError{"message larger than 1 MiB"};
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DecodeError{"message is not valid JSON"};
  if (!j.is_object()) return DecodeError{"message is not a JSON object"};
  auto t = j.find("t");
  if (t == j.end() || !t->is_string()) return DecodeError{"message has no string field 't'"};
  std::string tag = t->get<std::string>();
  try {
    Variant out;
    if (!from_tagged(j, tag, out)) return DecodeError{"unknown message type '" + tag + "'"};
    return out;
  } catch (const json::exception& e) {
    return DecodeError{"bad '" + tag + "' message: " + e.what()};
  }
}

}  // namespace

std::string encode(const AgentMessage& m) {
  return std::visit([](const auto& v) { return to_tagged(v).dump(); }, m);
}

std::string encode(const ControllerMessage& m) {
  return std::visit([](const auto& v) { return to_tagged(v).dump(); }, m);
}

std::variant<AgentMessage, DecodeError> decode_agent(std::string_view text) {
  return decode<AgentMessage>(text);
}

std::variant<ControllerMessage, DecodeError> decode_controller(std::string_view text) {
  return decode<ControllerMessage>(text);
}

// Step text is the team's: invalid UTF-8 is replaced rather than thrown on.
std::string encode_notify(const Notify& m) {
  return json(m).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::variant<Notify, DecodeError> decode_notify(std::string_view text) {
  return decode_plain<Notify>(text, "notify request");
}

std::string encode_notify_reply(const NotifyReply& m) {
  return json(m).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::variant<NotifyReply, DecodeError> decode_notify_reply(std::string_view text) {
  return decode_plain<NotifyReply>(text, "notify reply");
}

std::string encode_log(const LogChunk& header, std::string_view payload) {
  std::string h = json(header).dump();
  std::string out;
  out.reserve(4 + h.size() + payload.size());
  auto n = static_cast<uint32_t>(h.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out += h;
  out.append(payload);
  return out;
}

bool decode_log(std::string_view frame, LogChunk& header, std::string_view& payload,
                std::string& error) {
  if (frame.size() < 4) {
    error = "log frame shorter than its header length";
    return false;
  }
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(frame[i])); };
  uint32_t n = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  if (n > 4096 || 4 + size_t{n} > frame.size()) {
    error = "log frame header length out of range";
    return false;
  }
  json j = json::parse(frame.substr(4, n), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "log frame header is not a JSON object";
    return false;
  }
  try {
    header = j.get<LogChunk>();
  } catch (const json::exception& e) {
    error = std::string("bad log frame header: ") + e.what();
    return false;
  }
  payload = frame.substr(4 + n);
  if (payload.size() > kMaxChunk) {
    error = "log chunk larger than 64 KiB";
    return false;
  }
  return true;
}

}  // namespace gantry::protocol
