#!/usr/bin/env bash
# Installs what the test suite needs and is missing: MariaDB, OpenLDAP slapd,
# Chromium and Samba from Debian's packages (the tests start their own throwaway servers on random
# loopback ports; no system daemon is used or left running).
set -euo pipefail

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
[ -x /usr/sbin/slapd ] || need+=(slapd)
[ -x /usr/sbin/slapadd ] || need+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need+=(ldap-utils)
# Headless Chromium for the browser test of examples/portal (driven by chromedp).
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
# Samba as an Active Directory domain controller for the AD tests of
# ldapbackend (internal/testad provisions a throwaway domain).
[ -x /usr/sbin/samba ] || need+=(samba samba-ad-dc)
[ -d /usr/share/samba/setup ] || need+=(samba-ad-provision)
command -v samba-tool >/dev/null 2>&1 || need+=(samba)
command -v ldbmodify >/dev/null 2>&1 || need+=(ldb-tools)

if [ ${#need[@]} -eq 0 ]; then
	echo "install-deps: MariaDB, slapd, Chromium and Samba are installed"
	exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "install-deps: installing ${need[*]}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root or install sudo: apt-get install ${need[*]}" >&2; exit 1; }
	sudo=(sudo)
fi

# Keep the packages from starting system daemons: the tests run their own.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
	"${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
	made_policy=1
fi
cleanup() { [ -z "$made_policy" ] || "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT

"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-deps: done"
