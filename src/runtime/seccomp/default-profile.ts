/**
 * The default seccomp profile of every sandbox's command (and of what `exec` starts), as
 * data in the Docker/OCI profile format that `--security-opt seccomp=FILE` takes
 * (profile.ts reads both the same way). Equivalent to the runtimes' defaults: Docker's
 * (moby's profiles/seccomp/default.json) for what is allowed and what a capability unlocks,
 * Podman's (containers/common's seccomp.json) for the answer to the rest.
 *
 * An allowlist, as both runtimes: a system call the kernel adds later (io_uring, say, was
 * one) stays refused until someone looks at it, where a denylist would let every new one
 * through. What is not listed gets ENOSYS, as under Podman: libc then falls back to an
 * older call (clone3 -> clone, faccessat2 -> faccessat) instead of failing with EPERM,
 * which broke newer images under Docker's EPERM. What we refuse on purpose gets EPERM,
 * explicitly: keyctl & co. (the caller's keys), bpf, perf_event_open, userfaultfd, kexec,
 * modules, open_by_handle_at, the mount family and new namespaces without CAP_SYS_ADMIN,
 * personality but for the harmless values, AF_VSOCK sockets, and the ioctls TIOCSTI and
 * TIOCLINUX (pushing input into a terminal: issue 16's terminal safety).
 *
 * New namespaces (unshare, setns, clone with CLONE_NEW*, clone3, mount) are Docker's
 * choice: allowed with CAP_SYS_ADMIN, which `--cap-add SYS_ADMIN` gives (still inside the
 * sandbox's user namespace); `--security-opt seccomp=unconfined` and `--privileged` drop
 * the filter altogether. unshare of no namespace at all (CLONE_FILES, CLONE_FS) stays
 * allowed: it gives nothing.
 *
 * libseccomp lets an unconditional rule override every conditional rule of the same system
 * call, so "allow X except when ..." is written as conditional rules only: the refusals
 * (an equality, tested first by libseccomp) and an allow whose condition always holds
 * (`>= 0`, tested after): see allowExcept().
 */
import type { SeccompProfile, SeccompRule } from './profile.js';

const EPERM = 1;
const ENOSYS = 38;

/** Allowed to every sandbox (moby's list, less what has conditions below). */
const ALLOWED = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'capget', 'capset', 'chdir', 'chmod', 'chown',
  'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64', 'clock_gettime',
  'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect',
  'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old',
  'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit',
  'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir',
  'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr',
  'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64',
  'fsync', 'ftruncate', 'ftruncate64', 'futex', 'futex_time64', 'futex_waitv', 'futimesat', 'getcpu', 'getcwd',
  'getdents', 'getdents64', 'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups',
  'getgroups32', 'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom',
  'getresgid', 'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage', 'getsid',
  'getsockname', 'getsockopt', 'get_thread_area', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr',
  'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'io_destroy',
  'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get', 'ioprio_set', 'io_setup', 'io_submit',
  'io_uring_enter', 'io_uring_register', 'io_uring_setup', 'ipc', 'kill', 'landlock_add_rule',
  'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen',
  'listxattr', 'llistxattr', '_llseek', 'lremovexattr', 'lseek', 'lsetxattr', 'lstat', 'lstat64', 'madvise',
  'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2',
  'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive',
  'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink', 'mremap', 'msgctl', 'msgget',
  'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat',
  '_newselect', 'open', 'openat', 'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv',
  'preadv2', 'prlimit64', 'process_mrelease', 'process_vm_readv', 'process_vm_writev', 'pselect6',
  'pselect6_time64', 'ptrace', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat',
  'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'remap_file_pages', 'removexattr', 'rename',
  'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask',
  'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select',
  'semctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg',
  'sendmsg', 'sendto', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups',
  'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32',
  'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid', 'setsockopt',
  'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget',
  'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall', 'socketpair',
  'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range',
  'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime',
  'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64',
  'timerfd_settime', 'timerfd_settime64', 'times', 'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname',
  'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid',
  'waitpid', 'write', 'writev',
];

/** Refused to every sandbox, with EPERM (not ENOSYS: they exist, we say no). */
const REFUSED = [
  'keyctl', 'add_key', 'request_key', 'userfaultfd', 'kexec_load', 'kexec_file_load', 'swapon', 'swapoff',
  'uselib', 'ustat', 'sysfs', 'nfsservctl', 'bdflush', 'vm86', 'vm86old', 'pciconfig_iobase', 'pciconfig_read',
  'pciconfig_write', 'migrate_pages', 'move_pages',
];

/**
 * Allowed with any of these capabilities, refused with EPERM without (moby's groups).
 * clone, clone3 and unshare are allowed with CAP_SYS_ADMIN too: without it, their own
 * conditional rules below apply (an unconditional refusal here would override them).
 */
const BY_CAPABILITY: [string[], string[]][] = [
  [['CAP_SYS_ADMIN'], [
    'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr',
    'move_mount', 'open_tree', 'pivot_root', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns',
    'umount', 'umount2',
  ]],
  [['CAP_SYS_ADMIN', 'CAP_SYSLOG'], ['syslog']],
  [['CAP_SYS_ADMIN', 'CAP_BPF'], ['bpf']],
  [['CAP_SYS_ADMIN', 'CAP_PERFMON'], ['perf_event_open']],
  [['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']],
  [['CAP_SYS_BOOT'], ['reboot']],
  [['CAP_SYS_CHROOT'], ['chroot']],
  [['CAP_SYS_MODULE'], ['delete_module', 'init_module', 'finit_module', 'query_module']],
  [['CAP_SYS_PACCT'], ['acct']],
  [['CAP_SYS_PTRACE'], ['kcmp', 'pidfd_getfd', 'process_madvise']],
  [['CAP_SYS_RAWIO'], ['iopl', 'ioperm']],
  [['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
  [['CAP_SYS_TTY_CONFIG'], ['vhangup']],
  [['CAP_SYS_NICE'], ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
];

/** The namespace flags of clone and unshare (CLONE_NEWNS ... CLONE_NEWNET; unshare's CLONE_NEWTIME too). */
const CLONE_NEW_FLAGS = 0x7e020000;
const CLONE_NEWTIME = 0x80;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const AF_VSOCK = 40;
/** personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 with each, and the query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const allow = (names: string[], more: Partial<SeccompRule> = {}): SeccompRule => ({ names, action: 'SCMP_ACT_ALLOW', ...more });
const refuse = (names: string[], more: Partial<SeccompRule> = {}): SeccompRule => ({ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, ...more });
/** `>= 0` on an argument: always true, but conditional (see the module's comment). */
const ALWAYS = { index: 0, value: 0, op: 'SCMP_CMP_GE' } as const;

/**
 * `name` allowed, except (EPERM) when its argument `index`, cut to the 32 bits the kernel
 * reads (an int or unsigned int: a value with high bits set must not slip past), is one of
 * `values`.
 */
function allowExcept(name: string, index: number, values: number[], more: Partial<SeccompRule> = {}): SeccompRule[] {
  return [
    ...values.map((v) => refuse([name], { args: [{ index, value: 0xffffffff, valueTwo: v, op: 'SCMP_CMP_MASKED_EQ' }], ...more })),
    allow([name], { args: [{ ...ALWAYS, index }], ...more }),
  ];
}

const noSysAdmin = { excludes: { caps: ['CAP_SYS_ADMIN'] } };

/**
 * Part of the name the store's cache keeps this profile's compiled filters under
 * (sandbox-filter.ts): one more with every change below, or sandboxes go on getting the
 * filter of before (test/unit/seccomp.test.ts holds the rules' hash to this number).
 */
export const DEFAULT_PROFILE_REVISION = 1;

let made: SeccompProfile | undefined;

/**
 * The profile, made on first use: building it is ~0.5 ms of a cold start, which a command
 * that never makes a filter (ps, exec, a run whose rules the cache has) need not pay.
 */
export function defaultProfile(): SeccompProfile {
  return (made ??= makeDefaultProfile());
}

const makeDefaultProfile = (): SeccompProfile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: ENOSYS,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_PPC64LE', subArchitectures: [] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
  ],
  syscalls: [
    allow(ALLOWED),
    refuse(REFUSED),
    // includes.caps wants every cap listed, excludes.caps skips the rule on any: one allow per cap, one refusal.
    ...BY_CAPABILITY.flatMap(([caps, names]) => [...caps.map((cap) => allow(names, { includes: { caps: [cap] } })), refuse(names, { excludes: { caps } })]),
    allow(['clone', 'clone3', 'unshare'], { includes: { caps: ['CAP_SYS_ADMIN'] } }),
    ...allowExcept('ioctl', 1, [TIOCSTI, TIOCLINUX]),
    ...allowExcept('socket', 0, [AF_VSOCK]),
    // An exact 64-bit match: a value with high bits set is refused, whatever the kernel would read.
    ...PERSONALITIES.map((p) => allow(['personality'], { args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }] })),
    refuse(['personality'], { args: [ALWAYS] }),
    // Without CAP_SYS_ADMIN: a thread or process, yes; a namespace, no. clone3's flags are
    // in memory seccomp cannot read: ENOSYS makes libc use clone (as Docker).
    allow(['clone'], { args: [{ index: 0, value: CLONE_NEW_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } }),
    allow(['clone'], { args: [{ index: 1, value: CLONE_NEW_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], includes: { arches: ['s390', 's390x'] }, ...noSysAdmin }),
    refuse(['clone'], { args: [ALWAYS], ...noSysAdmin }),
    refuse(['clone3'], { errnoRet: ENOSYS, ...noSysAdmin }),
    allow(['unshare'], { args: [{ index: 0, value: CLONE_NEW_FLAGS | CLONE_NEWTIME, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], ...noSysAdmin }),
    refuse(['unshare'], { args: [ALWAYS], ...noSysAdmin }),
    allow(['arch_prctl'], { includes: { arches: ['amd64', 'x32'] } }),
    allow(['modify_ldt'], { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    allow(['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], { includes: { arches: ['arm', 'arm64'] } }),
    allow(['sync_file_range2', 'swapcontext'], { includes: { arches: ['ppc64le'] } }),
    allow(['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], { includes: { arches: ['s390', 's390x'] } }),
    allow(['riscv_flush_icache'], { includes: { arches: ['riscv64'] } }),
  ],
});
