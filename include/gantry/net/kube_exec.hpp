#pragma once
// kube_exec: runs a command in a container of a Kubernetes pod through the API server's exec
// endpoint, over a WebSocket with the `v4.channel.k8s.io` subprotocol (what `kubectl exec` does).
// Output arrives as it comes, channel by channel; the exit code comes from the final
// metav1.Status the API server sends on channel 3.
//
// Not here: a TTY, terminal resizing (channel 4), closing stdin (v4 has no way to say EOF: the
// stdin bytes are sent and the stream stays open), port-forward or attach.
//
// Threading: blocks the calling thread until the command ends; each call has its own private
// I/O context, so any thread may call it, including several at once. Do not call it on an
// EventLoop thread. on_output runs on the calling thread. Never throws: failures come back as
// KubeExecResult::ok == false with a message.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/net/tls.hpp"

namespace gantry::net {

struct KubeExecRequest {
  std::string api;       // the API server's base URL: "https://host:port" or "http://host:port"
  TlsClientOptions tls;  // for https (ca_file: the service account's ca.crt)
  std::string token;     // bearer token ("" = none)
  std::string kube_namespace, pod, container;
  std::vector<std::string> command;  // argv, each a repeated `command=` query parameter
  // If non-empty: stdin=true, and these bytes are sent on channel 0 right after the handshake
  // (the stream is not closed after it).
  std::string stdin_data;
  // Connect + TLS + WebSocket handshake limit; not a limit on the command's run time.
  std::chrono::milliseconds timeout{30000};
};

struct KubeExecResult {
  bool ok = false;     // false: transport, handshake or protocol failure, see error
  std::string error;   // "exec handshake 127.0.0.1:6443: 403 Forbidden: pods \"x\" is forbidden"
  int exit_code = -1;  // from the channel 3 status: 0 for Success, N for NonZeroExitCode
};

// Connects and upgrades GET {api}/api/v1/namespaces/{ns}/pods/{pod}/exec?container=..&command=..
// &stdin=..&stdout=true&stderr=true. Channels 1 (stdout) and 2 (stderr) go to on_output as they
// arrive. Returns once the status arrived and the server closed (or a few seconds after the
// status if it does not close). A message over 1 MiB is an error.
KubeExecResult kube_exec(const KubeExecRequest& request,
                         const std::function<void(int channel, std::string_view bytes)>& on_output);

}  // namespace gantry::net
