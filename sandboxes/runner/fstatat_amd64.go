// The fstatat system call's number on amd64 (the syscall package exports no Fstatat there).
package main

import "syscall"

const sysFstatat = syscall.SYS_NEWFSTATAT
