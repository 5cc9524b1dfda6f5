// Credentials and host checks for private remotes (git_cache.hpp's GitCredentials): libgit2's
// credential callback (an SSH key from memory, a user and token), its certificate callback
// (the SSH host key against known_hosts, strictly; an https certificate against extra CAs).
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "mirror.hpp"

namespace gantry::git::detail {

namespace {

thread_local const GitCredentials* t_credentials = nullptr;

constexpr int kMaxAuthAttempts = 4;

std::string base64_decode(std::string_view in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;
  out.resize(std::min(len, out.size()));
  return out;
}

bool glob(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// One name of a known_hosts line against the host as OpenSSH writes it ("host" or
// "[host]:port"): plain, wildcards, or hashed (|1|salt|HMAC-SHA1(salt, name)).
bool name_matches(std::string_view pattern, const std::string& name) {
  if (pattern.starts_with("|1|")) {
    std::string_view rest = pattern.substr(3);
    const size_t bar = rest.find('|');
    if (bar == std::string_view::npos) return false;
    const std::string salt = base64_decode(rest.substr(0, bar));
    const std::string hash = base64_decode(rest.substr(bar + 1));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
              reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac, &mac_len))
      return false;
    return hash.size() == mac_len && std::memcmp(hash.data(), mac, mac_len) == 0;
  }
  std::string lower(pattern);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return glob(lower, name);
}

struct HostPort {
  std::string host;
  int port = 22;
};

// ssh://[user@]host[:port]/path or scp-style [user@]host:path.
HostPort ssh_host(const std::string& url) {
  HostPort hp;
  std::string_view rest = url;
  if (rest.starts_with("ssh://") || rest.starts_with("git+ssh://") ||
      rest.starts_with("ssh+git://")) {
    rest.remove_prefix(rest.find("://") + 3);
    rest = rest.substr(0, rest.find('/'));
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (rest.starts_with('[')) {
      const size_t close = rest.find(']');
      hp.host = std::string(rest.substr(1, close - 1));
      if (close + 1 < rest.size() && rest[close + 1] == ':')
        hp.port = std::atoi(std::string(rest.substr(close + 2)).c_str());
    } else if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
      hp.host = std::string(rest.substr(0, colon));
      hp.port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
    } else {
      hp.host = std::string(rest);
    }
  } else {
    rest = rest.substr(0, rest.find(':'));
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    hp.host = std::string(rest);
  }
  for (char& c : hp.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (hp.port <= 0) hp.port = 22;
  return hp;
}

// The key blobs known_hosts gives `name`; `revoked` gets those marked @revoked.
void known_keys(const std::string& text, const std::string& name, std::vector<std::string>& keys,
                std::vector<std::string>& revoked) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string first, hosts, type, key;
    if (!(fields >> first) || first.starts_with('#')) continue;
    bool is_revoked = false;
    if (first.starts_with('@')) {
      if (first != "@revoked") continue;  // @cert-authority: certificates are not supported
      is_revoked = true;
      if (!(fields >> hosts)) continue;
    } else {
      hosts = first;
    }
    if (!(fields >> type >> key)) continue;
    bool match = false, negated = false;
    std::istringstream names(hosts);
    for (std::string pattern; std::getline(names, pattern, ',');) {
      if (pattern.starts_with('!')) {
        negated = negated || name_matches(pattern.substr(1), name);
      } else {
        match = match || name_matches(pattern, name);
      }
    }
    if (!match || negated) continue;
    (is_revoked ? revoked : keys).push_back(base64_decode(key));
  }
}

std::string sha256_base64(std::string_view blob) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(blob.data()), blob.size(), digest);
  unsigned char out[64] = {};
  const int n = EVP_EncodeBlock(out, digest, SHA256_DIGEST_LENGTH);
  std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

int refuse(CallbackState& state, std::string why) {
  state.refusal = std::move(why);
  git_error_set_str(GIT_ERROR_SSH, state.refusal.c_str());
  return GIT_ECERTIFICATE;
}

int check_host_key(const git_cert_hostkey& cert, CallbackState& state) {
  const GitCredentials& c = *t_credentials;
  const HostPort hp = ssh_host(state.url);
  const std::string name = hp.port == 22 ? hp.host : "[" + hp.host + "]:" + std::to_string(hp.port);
  if (c.known_hosts.empty())
    return refuse(state, "the SSH host key of " + name +
                             " cannot be checked: no known_hosts is configured (add the host's "
                             "key, from ssh-keyscan, under git: known_hosts)");
  std::vector<std::string> keys, revoked;
  known_keys(c.known_hosts, name, keys, revoked);
  auto same = [&](const std::string& blob) {
    if (cert.type & GIT_CERT_SSH_RAW)
      return blob.size() == cert.hostkey_len &&
             std::memcmp(blob.data(), cert.hostkey, cert.hostkey_len) == 0;
    if (cert.type & GIT_CERT_SSH_SHA256) {
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(blob.data()), blob.size(), digest);
      return std::memcmp(digest, cert.hash_sha256, SHA256_DIGEST_LENGTH) == 0;
    }
    return false;
  };
  const std::string offered =
      cert.type & GIT_CERT_SSH_RAW
          ? "SHA256:" + sha256_base64(std::string_view(cert.hostkey, cert.hostkey_len))
          : std::string("(no raw key)");
  for (const std::string& r : revoked) {
    if (same(r)) return refuse(state, "the SSH host key of " + name + " is revoked in known_hosts");
  }
  if (keys.empty())
    return refuse(state, "the SSH host " + name + " is not in known_hosts (its key is " + offered +
                             "): add it, as ssh-keyscan prints it, under git: known_hosts");
  for (const std::string& k : keys) {
    if (same(k)) return 0;
  }
  return refuse(state, "the SSH host key of " + name + " (" + offered +
                           ") differs from known_hosts: someone may be in the middle, or the host "
                           "key changed; the fetch is refused");
}

int check_certificate(const git_cert_x509& cert, const char* host, CallbackState& state) {
  const std::string& pem = t_credentials->ca_pem;
  const unsigned char* der = static_cast<const unsigned char*>(cert.data);
  std::unique_ptr<X509, decltype(&X509_free)> leaf(
      d2i_X509(nullptr, &der, static_cast<long>(cert.len)), X509_free);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!leaf || !store || !bio) return refuse(state, "the server's certificate cannot be read");
  int loaded = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    loaded += X509_STORE_add_cert(store.get(), ca) == 1 ? 1 : 0;
    X509_free(ca);
  }
  if (loaded == 0) return refuse(state, "git: ca_file holds no PEM certificate");
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1)
    return refuse(state, "the server's certificate cannot be checked");
  if (X509_verify_cert(ctx.get()) != 1)
    return refuse(state, std::string("the certificate of ") + host +
                             " is not signed by git: " + "ca_file or a system CA (" +
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) +
                             ")");
  const bool named = X509_check_host(leaf.get(), host, 0, 0, nullptr) == 1 ||
                     X509_check_ip_asc(leaf.get(), host, 0) == 1;
  if (!named)
    return refuse(state, std::string("the certificate of ") + host + " names another host");
  return 0;
}

int certificate_check(git_cert* cert, int valid, const char* host, void* payload) {
  auto& state = *static_cast<CallbackState*>(payload);
  if (!t_credentials) return GIT_PASSTHROUGH;
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2)
    return check_host_key(*reinterpret_cast<git_cert_hostkey*>(cert), state);
  if (cert->cert_type == GIT_CERT_X509 && !valid && !t_credentials->ca_pem.empty())
    return check_certificate(*reinterpret_cast<git_cert_x509*>(cert), host, state);
  return GIT_PASSTHROUGH;
}

int acquire(git_credential** out, const char* /*url*/, const char* user_from_url,
            unsigned int allowed, void* payload) {
  auto& state = *static_cast<CallbackState*>(payload);
  const GitCredentials* c = t_credentials;
  if (!c || c->secret.empty()) return GIT_PASSTHROUGH;
  if (++state.attempts > kMaxAuthAttempts) {
    state.refusal = "the remote refused the configured credentials";
    git_error_set_str(GIT_ERROR_NET, state.refusal.c_str());
    return GIT_EAUTH;
  }
  const std::string from_url = user_from_url ? user_from_url : "";
  if (allowed & GIT_CREDENTIAL_SSH_KEY) {
    return git_credential_ssh_key_memory_new(
        out, from_url.empty() ? "git" : from_url.c_str(), nullptr, c->secret.c_str(),
        c->passphrase.empty() ? nullptr : c->passphrase.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERNAME)
    return git_credential_username_new(out, from_url.empty() ? "git" : from_url.c_str());
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    const size_t colon = c->secret.find(':');
    if (colon == std::string::npos)
      return git_credential_userpass_plaintext_new(
          out, from_url.empty() ? "gantry" : from_url.c_str(), c->secret.c_str());
    return git_credential_userpass_plaintext_new(out, c->secret.substr(0, colon).c_str(),
                                                 c->secret.substr(colon + 1).c_str());
  }
  return GIT_PASSTHROUGH;
}

}  // namespace

CredentialScope::CredentialScope(const GitCredentials* credentials) : previous_(t_credentials) {
  t_credentials = credentials && !credentials->empty() ? credentials : nullptr;
}

CredentialScope::~CredentialScope() {
  t_credentials = previous_;
}

void set_callbacks(git_remote_callbacks& callbacks, CallbackState& state) {
  callbacks.credentials = acquire;
  callbacks.certificate_check = certificate_check;
  callbacks.payload = &state;
}

std::string remote_failure(const std::string& doing, const CallbackState& state) {
  if (!state.refusal.empty()) {
    git_error_clear();
    return doing + ": " + state.refusal;
  }
  return failure(doing);
}

}  // namespace gantry::git::detail
