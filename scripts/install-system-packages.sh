#!/usr/bin/env bash
# The Debian packages the optional tests need, installed when we can (root with apt-get), quietly;
# never fails. Each test that needs one skips, saying why, without it. Run by .ci/run and by
# `npm test` (its pretest step); TIMEWAIT_NO_APT=1 skips it.
set -u
[ "${TIMEWAIT_NO_APT:-}" = 1 ] && exit 0
cd "$(dirname "$0")/.."
# The pcap tests read captures back with tshark (src/report/pcap.test.ts skips them without it).
# Install it when we can, quietly; never fail the run over it.
if ! command -v tshark >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections >/dev/null 2>&1 || true
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark; } >/dev/null 2>&1 \
    || echo "note: could not install tshark; pcap read-back tests will be skipped"
fi
# The HTML report's browser test opens it in Debian's Chromium through playwright-core, never a
# downloaded browser (src/report/html.browser.test.ts skips without /usr/bin/chromium).
# Install it when we can, quietly; never fail the run over it.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/dev/null 2>&1 \
    || echo "note: could not install chromium; the HTML report's browser test will be skipped"
fi
# The lwIP adapter (native/lwip/) links Debian's liblwip; its tests build it with make and skip,
# saying why, without a compiler or the library. Install them when we can, quietly.
if [ ! -f /usr/include/lwip/lwip/tcp.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential liblwip-dev; } >/dev/null 2>&1 \
    || echo "note: could not install build-essential and liblwip-dev; the lwIP adapter tests will be skipped"
fi
# `timewait kernel` and its differential test (src/kernel/kernel.test.ts) run the examples on this
# machine's Linux in a private network namespace: tcpdump captures, nftables drops, iproute2's ip
# and ss set up and read it, python3 makes the socket calls. Install them when we can, quietly;
# never fail the run over it (the test skips, saying why, without them or without root).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  for tool in tcpdump:tcpdump nft:nftables ss:iproute2 python3:python3; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool##*:}"; } >/dev/null 2>&1 \
        || echo "note: could not install ${tool##*:}; the kernel differential test will be skipped"
    fi
  done
fi
exit 0
