# shellcheck shell=bash
# PID 1 of a sandbox: root, ignores every catchable signal, reaps orphans (bash reaps any child on SIGCHLD), never exits.
# Argument: the root-only scratch dir.
trap '' TERM INT HUP QUIT USR1 USR2 PIPE ALRM
rm -f "$1/.init" && mkfifo -m 0600 "$1/.init" && exec 3<>"$1/.init" || exit 70
while :; do read -r -u 3 _; done
