// The fstatat system call's number on arm64.
package main

import "syscall"

const sysFstatat = syscall.SYS_FSTATAT
