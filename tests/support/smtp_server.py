#!/usr/bin/python3
"""A real SMTP server for the tests (Debian's python3-aiosmtpd), on 127.0.0.1 and a free port.

--state-dir DIR: the port goes to DIR/port once it listens; every message accepted is appended
to DIR/messages.jsonl as {"mail_from", "rcpt_tos", "data", "tls", "auth"} ("data" is the text
after DATA, dot-stuffing undone). --cert/--key: STARTTLS is offered and required before
MAIL FROM. --auth USER:PASSWORD: AUTH PLAIN and LOGIN with that one account, required before
MAIL FROM (and after STARTTLS when --cert is given); anything else is 535. --mute: accept
connections and never say a word (for client timeouts). Exits by itself after --max-seconds.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--mute", action="store_true")
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()
    out = os.path.join(args.state_dir, "messages.jsonl")

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
                "tls": session.ssl is not None,
                "auth": bool(getattr(session, "authenticated", False)),
            }
            with open(out, "a") as f:
                f.write(json.dumps(record) + "\n")
            return "250 OK queued"

    user, password = (args.auth.split(":", 1) + [""])[:2] if args.auth else (None, None)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def factory():
        return SMTP(Handler(), hostname="test-smtp", tls_context=context,
                    require_starttls=context is not None,
                    authenticator=authenticator if user is not None else None,
                    auth_required=user is not None,
                    auth_require_tls=context is not None)

    async def mute(reader, writer):
        try:
            await reader.read()  # hold the connection, answer nothing
        finally:
            writer.close()

    async def serve():
        loop = asyncio.get_running_loop()
        if args.mute:
            server = await asyncio.start_server(mute, "127.0.0.1", 0)
        else:
            server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        tmp = os.path.join(args.state_dir, "port.tmp")
        with open(tmp, "w") as f:
            f.write(str(port))
        os.rename(tmp, os.path.join(args.state_dir, "port"))
        loop.call_later(args.max_seconds, loop.stop)
        await server.serve_forever()

    try:
        asyncio.run(serve())
    except (KeyboardInterrupt, RuntimeError):
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
