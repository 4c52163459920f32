#!/usr/bin/env python3
"""Plays the person at the sandbox's sign-in pages, for `make demo`.

Usage: sign_in.py SANDBOX_URL AUTHORIZE_URL USERNAME PASSWORD

Signs in, presses "Send code", reads the SMS from the sandbox's test phone,
enters it, presses "Verify", and follows the redirect to connector-host's
loopback listener, exactly as a browser would (plain form posts).
"""
import json
import re
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)


def transaction(page):
    return re.search(r'name="transaction" value="([^"]+)"', page).group(1)


def post(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(urllib.request.Request(url, data=data)) as reply:
            return reply.read().decode(), None
    except urllib.error.HTTPError as redirect:  # 303 to the redirect URI
        return "", redirect.headers.get("Location")


def main(sandbox, authorize, user, password):
    page = urllib.request.urlopen(authorize).read().decode()
    print("  signing in as", user)
    page, _ = post(f"{sandbox}/login/sign-in", {"transaction": transaction(page), "username": user, "password": password})
    print("  pressing 'Send code'")
    page, _ = post(f"{sandbox}/login/send-code", {"transaction": transaction(page)})
    phone = json.load(urllib.request.urlopen(f"{sandbox}/__sandbox/phone/{urllib.parse.quote(user)}"))
    code = phone["messages"][-1]["code"]
    print("  the phone received a code; entering it and pressing 'Verify'")
    _, location = post(f"{sandbox}/login/verify", {"transaction": transaction(page), "code": code, "action": "verify"})
    urllib.request.urlopen(location).read()
    print("  redirected back to connector-host")


if __name__ == "__main__":
    main(*sys.argv[1:5])
