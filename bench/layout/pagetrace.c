// pagetrace.so (LD_PRELOAD): where a program's execution enters the pages of its own code, for
// bench/layout/order.sh. perf cannot say which methods ran at all (these VMs have no hardware
// counters, and sampling misses code that runs once, at start), and page faults cannot either
// (the kernel maps 64 KiB around each one), so this takes the executable's code away instead:
// it is mapped PROT_NONE at load, and every fault on it records the faulting instruction's
// address, then makes that page executable again. Only the last PAGETRACE_WINDOW pages (default
// 16) stay executable, so execution entering any other page is caught again; its address falls
// inside the method that was entered. Writes every recorded address (a file offset, so runs
// compare) to $PAGETRACE_OUT at exit.
//
// The program's own SIGSEGV handler (the .NET runtime's, for null references) is chained
// behind this one: sigaction() for SIGSEGV is intercepted and remembered.
//
// SIGUSR2 starts the quiet phase: what a proxy runs once its traffic has stopped (timers, the
// thread pool's upkeep), which order.sh lays out first so that a quiet proxy, after it released
// its code pages, faults back as few 64 KiB blocks as possible. Every page is closed again, so
// the first entry into each page the quiet proxy runs is seen, and entries go to
// $PAGETRACE_OUT.quiet until a second SIGUSR2 ends the phase (shutdown is not quiet work). The
// program cannot take SIGUSR2 over (sigaction() ignores it).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096

static uintptr_t text_start, text_end, text_file_offset;
static unsigned char *entered; // one bit per byte of code: execution entered a closed page there
static unsigned char *entered_quiet; // the same, from the quiet phase on
static volatile int quiet; // 0 before the quiet phase, 1 in it, 2 after it
static uintptr_t *window;      // the pages left executable, a ring, oldest next
static int window_size, window_next;
static volatile int window_lock;
static struct sigaction program_handler;
static int (*libc_sigaction)(int, const struct sigaction *, struct sigaction *);

static void on_segv(int signal_number, siginfo_t *info, void *context)
{
    uintptr_t address = (uintptr_t)info->si_addr;
    if (address >= text_start && address < text_end)
    {
        uintptr_t page = address & ~(uintptr_t)(PAGE - 1);
        uintptr_t ip = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
        if (ip != address)
        {
            // Not an instruction fetch (a read of the code, or an instruction straddling two
            // pages): the page stays open for good, or the retried access could fault forever.
            mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC);
            return;
        }

        uintptr_t bit = address - text_start;
        unsigned char *bits = quiet == 1 ? entered_quiet : entered;
        __atomic_or_fetch(&bits[bit >> 3], (unsigned char)(1 << (bit & 7)), __ATOMIC_RELAXED);

        // Every signal is blocked in here (sa_mask), so no handler running on this thread can
        // fault on a closed page while it holds the lock.
        while (__atomic_exchange_n(&window_lock, 1, __ATOMIC_ACQUIRE))
        {
        }

        uintptr_t oldest = window[window_next];
        window[window_next] = page;
        window_next = (window_next + 1) % window_size;
        if (oldest && oldest != page)
        {
            mprotect((void *)oldest, PAGE, PROT_NONE);
        }

        mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC);
        __atomic_store_n(&window_lock, 0, __ATOMIC_RELEASE);
        return;
    }

    // Not ours: the program's handler runs with the signal mask the program had.
    pthread_sigmask(SIG_SETMASK, &((ucontext_t *)context)->uc_sigmask, NULL);
    if (program_handler.sa_flags & SA_SIGINFO)
    {
        program_handler.sa_sigaction(signal_number, info, context);
    }
    else if (program_handler.sa_handler != SIG_DFL && program_handler.sa_handler != SIG_IGN)
    {
        program_handler.sa_handler(signal_number);
    }
    else
    {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
}

static void on_quiet(int signal_number)
{
    (void)signal_number;
    while (__atomic_exchange_n(&window_lock, 1, __ATOMIC_ACQUIRE))
    {
    }

    if (quiet++ == 0)
    {
        memset(window, 0, window_size * sizeof *window);
        window_next = 0;
        mprotect((void *)text_start, text_end - text_start, PROT_NONE);
    }
    __atomic_store_n(&window_lock, 0, __ATOMIC_RELEASE);
}

int sigaction(int signal_number, const struct sigaction *action, struct sigaction *previous)
{
    if (!libc_sigaction)
    {
        libc_sigaction = dlsym(RTLD_NEXT, "sigaction");
    }

    if (signal_number == SIGUSR2 && text_start)
    {
        return 0;
    }

    if (signal_number != SIGSEGV || !text_start)
    {
        return libc_sigaction(signal_number, action, previous);
    }

    if (previous)
    {
        *previous = program_handler;
    }

    if (action)
    {
        program_handler = *action;
    }

    return 0;
}

static void write_entries(const char *path, const unsigned char *bits)
{
    FILE *out = fopen(path, "w");
    if (!out)
    {
        return;
    }

    for (uintptr_t offset = 0; offset < text_end - text_start; offset++)
    {
        if (bits[offset >> 3] & (1 << (offset & 7)))
        {
            fprintf(out, "%016lx\n", (unsigned long)(offset + text_file_offset));
        }
    }

    fclose(out);
}

static void write_report(void)
{
    const char *path = getenv("PAGETRACE_OUT");
    path = path ? path : "pagetrace.out";
    write_entries(path, entered);
    if (quiet)
    {
        char quiet_path[4096];
        snprintf(quiet_path, sizeof quiet_path, "%s.quiet", path);
        write_entries(quiet_path, entered_quiet);
    }
}

__attribute__((constructor)) static void start_tracing(void)
{
    char executable[4096];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (length <= 0 || !maps)
    {
        return;
    }

    executable[length] = 0;
    char line[8192];
    while (fgets(line, sizeof line, maps))
    {
        unsigned long from, to, offset;
        char permissions[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &from, &to, permissions, &offset, path) >= 4
            && strcmp(permissions, "r-xp") == 0 && strcmp(path, executable) == 0)
        {
            text_start = from;
            text_end = to;
            text_file_offset = offset;
            break;
        }
    }

    fclose(maps);
    if (!text_start)
    {
        return;
    }

    const char *size = getenv("PAGETRACE_WINDOW");
    window_size = size && atoi(size) > 0 ? atoi(size) : 16;
    window = calloc(window_size, sizeof *window);
    entered = calloc(((text_end - text_start) >> 3) + 1, 1);
    entered_quiet = calloc(((text_end - text_start) >> 3) + 1, 1);
    libc_sigaction = dlsym(RTLD_NEXT, "sigaction");

    struct sigaction action = {0};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigfillset(&action.sa_mask);
    libc_sigaction(SIGSEGV, &action, NULL);
    struct sigaction quiet_action = {0};
    quiet_action.sa_handler = on_quiet;
    sigfillset(&quiet_action.sa_mask);
    libc_sigaction(SIGUSR2, &quiet_action, NULL);
    atexit(write_report);
    mprotect((void *)text_start, text_end - text_start, PROT_NONE);
}
