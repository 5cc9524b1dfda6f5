#include "tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <tuple>

namespace gantry::net {
namespace {

bool readable(const std::string& file) {
  std::ifstream in(file);
  return in.good();
}

// Loads `file` with `load` (an Asio context call taking an error_code); false with `error`.
template <class Load>
bool load_file(const char* what, const std::string& file, Load&& load, std::string& error) {
  if (!readable(file)) {
    error = std::string(what) + " " + file + ": cannot be read";
    return false;
  }
  error_code ec;
  load(file, ec);
  if (ec) {
    // OpenSSL checks a key against the certificate already loaded as it loads it.
    bool mismatch = describe(ec).find("values mismatch") != std::string::npos;
    error = std::string(what) + " " + file + ": " +
            (mismatch ? "does not match the certificate" : describe(ec));
    return false;
  }
  return true;
}

constexpr ssl::context::options kOptions =
    ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use;

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The certificate chain and its key, which must belong together; `what` starts the messages.
bool load_identity(ssl::context& context, const std::string& what, const std::string& cert_file,
                   const std::string& key_file, std::string& error) {
  auto chain = [&](const std::string& file, error_code& ec) {
    context.use_certificate_chain_file(file, ec);
  };
  auto key = [&](const std::string& file, error_code& ec) {
    context.use_private_key_file(file, ssl::context::pem, ec);
  };
  if (!load_file((what + "cert").c_str(), cert_file, chain, error)) return false;
  if (!load_file((what + "key").c_str(), key_file, key, error)) return false;
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    error = what + "key " + key_file + " does not match the certificate " + cert_file;
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const TlsServerOptions& options,
                                                  std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(kOptions);
  if (!load_identity(*context, "tls: ", options.cert_file, options.key_file, error)) return nullptr;
  if (!options.client_ca_file.empty()) {
    auto verify = [&](const std::string& file, error_code& ec) {
      context->load_verify_file(file, ec);
    };
    if (!load_file("tls: client_ca", options.client_ca_file, verify, error)) return nullptr;
    // Tell clients which CAs we accept, so that one holding several certificates picks right.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(context->native_handle(), names);
    // Ask for a certificate; a client without one still connects (the caller decides).
    context->set_verify_mode(ssl::verify_peer);
    // Session resumption with client certificates needs a session id context.
    static constexpr unsigned char kSessionContext[] = "gantry";
    SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext,
                                   sizeof(kSessionContext) - 1);
  }
  return context;
}

std::string check_tls_server(const TlsServerOptions& options) {
  std::string error;
  make_server_context(options, error);
  return error;
}

std::shared_ptr<ssl::context> client_context(const TlsClientOptions& options, std::string& error) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, bool, std::string, std::string>,
                  std::shared_ptr<ssl::context>>
      cache;
  auto key = std::make_tuple(options.ca_file, options.insecure_skip_verify, options.cert_file,
                             options.key_file);
  std::lock_guard lock(mutex);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(kOptions);
  if (options.insecure_skip_verify) {
    context->set_verify_mode(ssl::verify_none);
  } else {
    context->set_verify_mode(ssl::verify_peer);
    if (options.ca_file.empty()) {
      error_code ec;
      context->set_default_verify_paths(ec);
      if (ec) {
        error = "tls: the system's CA certificates: " + describe(ec);
        return nullptr;
      }
    } else {
      auto verify = [&](const std::string& file, error_code& ec) {
        context->load_verify_file(file, ec);
      };
      if (!load_file("tls: ca", options.ca_file, verify, error)) return nullptr;
    }
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    if (!load_identity(*context, "tls: client ", options.cert_file, options.key_file, error))
      return nullptr;
  }
  cache.emplace(key, context);
  return context;
}

std::string check_tls_client(const TlsClientOptions& options) {
  std::string error;
  client_context(options, error);
  return error;
}

void prepare_client(Stream::TlsStream& stream, const std::string& host,
                    const TlsClientOptions& options) {
  // SNI carries host names only, never addresses (RFC 6066).
  if (!is_ip_address(host)) SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  if (!options.insecure_skip_verify) {
    stream.set_verify_callback(ssl::host_name_verification(host));
  }
}

std::string describe_handshake(Stream::TlsStream& stream, const error_code& ec) {
  std::string text = describe(ec);
  long result = SSL_get_verify_result(stream.native_handle());
  if (result != X509_V_OK) {
    text += ": ";
    text += X509_verify_cert_error_string(result);
  }
  return text;
}

std::string verified_peer_subject(Stream::TlsStream& stream) {
  SSL* ssl = stream.native_handle();
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string subject;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio) {
      X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      if (size > 0 && data) subject.assign(data, static_cast<size_t>(size));
      BIO_free(bio);
    }
  }
  X509_free(cert);
  return subject;
}

}  // namespace gantry::net
