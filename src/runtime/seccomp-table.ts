/**
 * The system calls a RUN may make, as Docker's default seccomp profile (moby/profiles) allows them,
 * written as groups by purpose so that a reader can see what a build step may do and why each
 * conditional group exists. `seccomp.ts` turns the table into the OCI `linux.seccomp` object for a
 * given capability set and architecture. Whatever is not listed fails with EPERM.
 *
 * Names a kernel or libseccomp does not know are skipped by runc, so the table lists calls newer
 * than many machines (up to Linux 6.13: the *xattrat family, listmount, mseal, …) as Docker does.
 */

/** An argument comparison, as the OCI runtime spec writes it. */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_GT' | 'SCMP_CMP_GE' | 'SCMP_CMP_MASKED_EQ';
}

/**
 * One group of the table. Conditions name capabilities (the process's bounding set) and
 * architectures (Go/OCI names, `amd64`, `386`, `arm64`, …: the machine's, whose system calls the
 * kernel sees).
 */
export interface SyscallGroup {
  names: readonly string[];
  /** Allowed (the default), or failing with this errno instead of EPERM. */
  errno?: number;
  /** The call is allowed only when every comparison holds. */
  args?: readonly SeccompArg[];
  /** Only with all these capabilities. */
  requires?: readonly string[];
  /** Not with any of these capabilities (they get a wider group instead). */
  unlessCapability?: readonly string[];
  /** Only on these architectures. */
  onlyOn?: readonly string[];
  /** Not on these architectures. */
  notOn?: readonly string[];
}

const ENOSYS = 38;

/** socket(2) address families the profile refuses (see the socket groups below). */
export const AF_ALG = 38;
export const AF_VSOCK = 40;

/** clone(2) flags that create namespaces: only CAP_SYS_ADMIN may. */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 /* NEWNS */ |
  0x04000000 /* NEWUTS */ |
  0x08000000 /* NEWIPC */ |
  0x10000000 /* NEWUSER */ |
  0x20000000 /* NEWPID */ |
  0x40000000 /* NEWNET */ |
  0x02000000; /* NEWCGROUP */

/** Whitespace-separated system call names. */
const calls = (text: string): string[] => text.trim().split(/\s+/);

/**
 * Files and directories by path or descriptor: open, create, remove, rename, link, own, time.
 * `mknod` is allowed: the device cgroup and CAP_MKNOD decide which device nodes can be made and used.
 */
const FILES = calls(`
  open openat openat2 creat name_to_handle_at
  access faccessat faccessat2
  chdir fchdir getcwd getdents getdents64
  chmod fchmod fchmodat fchmodat2
  chown chown32 fchown fchown32 fchownat lchown lchown32
  link linkat symlink symlinkat readlink readlinkat
  mkdir mkdirat mknod mknodat rmdir
  rename renameat renameat2 unlink unlinkat
  truncate truncate64 ftruncate ftruncate64
  umask utime utimes utimensat utimensat_time64 futimesat
`);

/** Status of files and filesystems; reading (not changing) the mount table by id. */
const FILE_STATUS = calls(`
  stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx
  statfs statfs64 fstatfs fstatfs64
  cachestat listmount statmount
`);

/** Extended attributes (the kernel still checks the namespace: trusted.* needs CAP_SYS_ADMIN). */
const EXTENDED_ATTRIBUTES = calls(`
  getxattr lgetxattr fgetxattr getxattrat
  setxattr lsetxattr fsetxattr setxattrat
  listxattr llistxattr flistxattr listxattrat
  removexattr lremovexattr fremovexattr removexattrat
`);

/** Reading, writing and managing file descriptors. */
const FILE_DESCRIPTORS = calls(`
  read readv pread64 preadv preadv2
  write writev pwrite64 pwritev pwritev2
  lseek _llseek close close_range dup dup2 dup3 fcntl fcntl64 ioctl flock
  pipe pipe2 sendfile sendfile64 splice tee vmsplice copy_file_range
  fallocate fadvise64 fadvise64_64 readahead
  fsync fdatasync sync syncfs sync_file_range
`);

/** Classic asynchronous I/O. io_uring_* is deliberately absent: a large, often-exploited interface. */
const ASYNC_IO = calls(`io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64`);

/** Waiting for descriptors, signals and file changes (fanotify marks only: its groups need CAP_SYS_ADMIN). */
const EVENTS = calls(`
  poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
  eventfd eventfd2 signalfd signalfd4
  inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
`);

/** The process's own memory. */
const MEMORY = calls(`
  brk mmap mmap2 munmap mremap mprotect madvise mincore msync remap_file_pages
  mlock mlock2 mlockall munlock munlockall
  membarrier memfd_create memfd_secret
  pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal
`);

/** Processes and threads: run programs, start children (fork; clone is below), wait, synchronise. */
const PROCESSES = calls(`
  execve execveat fork vfork exit exit_group wait4 waitid waitpid
  getpid getppid gettid getpgid getpgrp setpgid getsid setsid
  set_tid_address set_robust_list get_robust_list set_thread_area get_thread_area rseq
  futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue
  restart_syscall prctl capget capset
  pidfd_open pidfd_send_signal process_mrelease uretprobe
`);

/**
 * Reading and tracing one's own children. Before Linux 4.8 ptrace could bypass seccomp, so Docker
 * allows these only from 4.8 on; tsbuild assumes a newer kernel.
 */
const TRACING = calls(`ptrace process_vm_readv process_vm_writev`);

/** A process may sandbox itself further. */
const SELF_RESTRICTION = calls(`seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self`);

/** Signals. */
const SIGNALS = calls(`
  kill tkill tgkill
  rt_sigaction rt_sigprocmask rt_sigpending rt_sigqueueinfo rt_tgsigqueueinfo
  rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  sigaltstack sigprocmask sigreturn pause alarm
`);

/** User and group ids (changing them is the capabilities' business: CAP_SETUID, CAP_SETGID). */
const IDENTITY = calls(`
  getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32
  getresuid getresuid32 getresgid getresgid32 getgroups getgroups32
  setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32
  setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
  setgroups setgroups32
`);

/** Clocks and timers. adjtimex and clock_adjtime only read unless the process holds CAP_SYS_TIME. */
const TIME = calls(`
  time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
  clock_nanosleep clock_nanosleep_time64 nanosleep
  adjtimex clock_adjtime clock_adjtime64 times getitimer setitimer
  timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
  timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
`);

/** Scheduling, priorities and resource limits (raising them is checked by the kernel). */
const SCHEDULING = calls(`
  sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr
  sched_getparam sched_setparam sched_getscheduler sched_setscheduler
  sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64
  getpriority setpriority ioprio_get ioprio_set getcpu
  getrlimit ugetrlimit setrlimit prlimit64 getrusage
`);

/** What the machine is. */
const SYSTEM_INFO = calls(`uname sysinfo getrandom riscv_hwprobe`);

/**
 * Sockets, except creating one (socket(2) has its own groups below). `socketcall` is 32-bit x86's
 * multiplexer for all of them; its arguments sit behind a pointer seccomp cannot read, so the socket
 * family rules do not reach it (Docker tried blocking it and reverted: too many binaries use it).
 */
const SOCKETS = calls(`
  socketpair bind connect listen accept accept4
  getsockname getpeername getsockopt setsockopt
  send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown
  socketcall
`);

/** System V and POSIX IPC, confined to the container's IPC namespace. */
const IPC = calls(`
  ipc msgget msgctl msgsnd msgrcv semget semctl semop semtimedop semtimedop_time64
  shmget shmctl shmat shmdt
  mq_open mq_unlink mq_getsetattr mq_notify mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64
`);

const allowIf = (op: SeccompArg['op'], value: number, index = 0): SeccompArg[] => [{ index, value, op }];

/** The table, in the order the OCI object lists it. */
export const SYSCALL_TABLE: readonly SyscallGroup[] = [
  { names: FILES },
  { names: FILE_STATUS },
  { names: EXTENDED_ATTRIBUTES },
  { names: FILE_DESCRIPTORS },
  { names: ASYNC_IO },
  { names: EVENTS },
  { names: MEMORY },
  { names: PROCESSES },
  { names: TRACING },
  { names: SELF_RESTRICTION },
  { names: SIGNALS },
  { names: IDENTITY },
  { names: TIME },
  { names: SCHEDULING },
  { names: SYSTEM_INFO },
  { names: SOCKETS },
  { names: IPC },

  // socket(2) for every address family but AF_ALG (the kernel crypto API, a recent route to
  // privilege escalation) and AF_VSOCK (host/VM sockets, a way out of the container). A rule's
  // comparisons are ANDed, so "neither 38 nor 40" takes three ranges.
  { names: ['socket'], args: allowIf('SCMP_CMP_LT', AF_ALG) },
  { names: ['socket'], args: allowIf('SCMP_CMP_EQ', AF_ALG + 1) },
  { names: ['socket'], args: allowIf('SCMP_CMP_GT', AF_VSOCK) },

  // personality(2) only to select the Linux execution domain (0), 32-bit (PER_LINUX32), a 2.6-style
  // uname (UNAME26) or both, or to query (0xffffffff). Other flags, e.g. ADDR_NO_RANDOMIZE, would
  // switch off protections such as address space randomisation.
  ...[0x0, 0x0008, 0x20000, 0x20008, 0xffffffff].map((value): SyscallGroup => ({ names: ['personality'], args: allowIf('SCMP_CMP_EQ', value) })),

  // Calls that exist only on some architectures.
  { names: ['arch_prctl'], onlyOn: ['amd64'] },
  { names: ['modify_ldt'], onlyOn: ['amd64', '386'] },
  { names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], onlyOn: ['arm', 'arm64'] },
  { names: ['sync_file_range2', 'swapcontext'], onlyOn: ['ppc64le'] },
  { names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], onlyOn: ['s390', 's390x'] },
  { names: ['riscv_flush_icache'], onlyOn: ['riscv64'] },

  // Capability-conditional groups: each capability unlocks the calls it exists to guard, so a step
  // granted a capability can use it; without it the call fails early with EPERM rather than reaching
  // kernel code that would check it later (less kernel surface for an unprivileged process).

  // open_by_handle_at bypasses path lookup, the "shocker" container escape: CAP_DAC_READ_SEARCH.
  { names: ['open_by_handle_at'], requires: ['CAP_DAC_READ_SEARCH'] },
  // CAP_SYS_ADMIN: mounts, namespaces, BPF, performance events, fanotify groups, quotas, host and
  // domain names, the kernel log, LSM attributes; and clone/clone3 without restriction.
  {
    names: calls(`
      mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig fsmount fspick
      unshare setns clone clone3
      bpf perf_event_open fanotify_init lookup_dcookie quotactl quotactl_fd
      sethostname setdomainname syslog lsm_get_self_attr lsm_set_self_attr lsm_list_modules
    `),
    requires: ['CAP_SYS_ADMIN'],
  },
  // Without CAP_SYS_ADMIN clone(2) may start processes and threads but not new namespaces. s390
  // passes the flags as the second argument.
  {
    names: ['clone'],
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    unlessCapability: ['CAP_SYS_ADMIN'],
    notOn: ['s390', 's390x'],
  },
  {
    names: ['clone'],
    args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    unlessCapability: ['CAP_SYS_ADMIN'],
    onlyOn: ['s390', 's390x'],
  },
  // clone3 passes its flags in a structure seccomp cannot read; ENOSYS (not EPERM) makes glibc and
  // musl fall back to clone, whose flags the rule above checks.
  { names: ['clone3'], errno: ENOSYS, unlessCapability: ['CAP_SYS_ADMIN'] },
  { names: ['reboot'], requires: ['CAP_SYS_BOOT'] },
  { names: ['chroot'], requires: ['CAP_SYS_CHROOT'] },
  { names: ['init_module', 'finit_module', 'delete_module'], requires: ['CAP_SYS_MODULE'] },
  { names: ['acct'], requires: ['CAP_SYS_PACCT'] },
  // Inspecting other processes' descriptors and memory.
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise'], requires: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], requires: ['CAP_SYS_RAWIO'] },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], requires: ['CAP_SYS_TIME'] },
  { names: ['vhangup'], requires: ['CAP_SYS_TTY_CONFIG'] },
  // NUMA memory policy affects memory the host shares with others.
  { names: ['get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node', 'mbind'], requires: ['CAP_SYS_NICE'] },
  { names: ['syslog'], requires: ['CAP_SYSLOG'] },
  { names: ['bpf'], requires: ['CAP_BPF'] },
  { names: ['perf_event_open'], requires: ['CAP_PERFMON'] },
];
