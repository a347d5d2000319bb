#!/usr/bin/env bash
# sshd-setup.sh prepares a machine for the real-OpenSSH test in
# actions/remote (TestRealSSHD): it installs openssh-server when no sshd
# binary is present and creates the privilege-separation directory /run/sshd.
#
# The test logs in as the user running it, and sshd (run with UsePAM no)
# refuses accounts whose password field starts with '!' ("account is
# locked"), the default for users created without a password. The script
# checks that user (SSHD_TEST_USER, else SUDO_USER, else the current user);
# under CI=true it unlocks a locked one by setting the password field to '*'
# (still no password login possible), otherwise it prints the command to run.
#
# It is idempotent: running it again on a prepared machine changes nothing.
# It must run as root (or under sudo when available). It does not start sshd;
# the test starts its own instance on 127.0.0.1 with a throwaway config.
set -euo pipefail

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "sshd-setup: must run as root (or with sudo installed)" >&2
		exit 1
	fi
fi

find_sshd() {
	if command -v sshd >/dev/null 2>&1; then
		command -v sshd
	elif [[ -x /usr/sbin/sshd ]]; then
		echo /usr/sbin/sshd
	else
		return 1
	fi
}

if sshd_path="$(find_sshd)"; then
	echo "sshd-setup: sshd already installed at ${sshd_path}"
else
	echo "sshd-setup: installing openssh-server"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server
	sshd_path="$(find_sshd)" || {
		echo "sshd-setup: openssh-server installed but no sshd binary found" >&2
		exit 1
	}
	echo "sshd-setup: installed sshd at ${sshd_path}"
fi

if [[ ! -d /run/sshd ]]; then
	$SUDO mkdir -p /run/sshd
	$SUDO chmod 0755 /run/sshd
	echo "sshd-setup: created /run/sshd"
fi

test_user="${SSHD_TEST_USER:-${SUDO_USER:-$(id -un)}}"
# The shadow file is readable by root only; getent goes through sudo when needed.
shadow_pw="$($SUDO getent shadow "${test_user}" | cut -d: -f2 || true)"
if [[ "${shadow_pw}" == '!'* ]]; then
	if [[ "${CI:-}" == "true" ]]; then
		$SUDO usermod -p '*' "${test_user}"
		echo "sshd-setup: unlocked account ${test_user} for key-only SSH login (password field set to '*')"
	else
		echo "sshd-setup: warning: account ${test_user} is locked; sshd will refuse it. Unlock it for key-only login with: sudo usermod -p '*' ${test_user}" >&2
	fi
fi
