#pragma once
// POST /api/v1/agent/jobs/JOB/notify?epoch=E (the agent gateway admitted the attempt): a
// `mail`, `emailext` or `slackSend` step's message (protocol::Notify), checked and bounded
// here, its recipients resolved (emailext's recipientProviders: developers() and culprits()
// are the e-mails of the authors of the run's commits, requestor() those the config gives the
// user who started the run), and handed to the notifier for the controller's channel of that
// kind. The answer (protocol::NotifyReply) says queued, sent, skipped, failed or refused; the
// step asks again with the same seq until it is final.
//
// Threading: the loop thread.

#include <string>
#include <vector>

#include "config.hpp"
#include "gantry/net/http_server.hpp"
#include "model/records.hpp"
#include "service/notifier.hpp"

namespace gantry::controller {

inline constexpr size_t kMaxNotifySubject = 1000;
inline constexpr size_t kMaxNotifyBody = 512 * 1024;
inline constexpr size_t kMaxNotifyRecipients = 100;

net::Response notify_step(Notifier& notifier, const std::string& job_id, uint64_t epoch,
                          const RunRecord& run, const std::vector<UserConfig>& users,
                          const std::string& body);

// The addresses of a `to:`-like field: separated by commas, semicolons or spaces; a
// "Name <a@b>" keeps its name. False with `error` naming the first bad one.
bool split_addresses(const std::string& text, std::vector<std::string>& out, std::string& error);

}  // namespace gantry::controller
