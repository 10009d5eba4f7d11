using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Trellis.Bench.Load;

/// <summary>
/// Sleeps the calling thread until a <see cref="Stopwatch"/> timestamp, to within the kernel's timer
/// slack (about 50 us). On Linux a Stopwatch timestamp is CLOCK_MONOTONIC in nanoseconds, so the
/// deadline goes to clock_nanosleep as it is; the runtime's own sleeps and timers take whole
/// milliseconds.
/// </summary>
internal static partial class MonotonicClock
{
    private const int ClockMonotonic = 1;
    private const int AbsoluteTime = 1;
    private const int Interrupted = 4;
    private const long NanosecondsPerSecond = 1_000_000_000;

    public static void SleepUntil(long timestamp)
    {
        if (Stopwatch.Frequency != NanosecondsPerSecond)
        {
            throw new PlatformNotSupportedException("the open loop needs Stopwatch on CLOCK_MONOTONIC (Linux)");
        }
        var deadline = new Timespec { Seconds = timestamp / NanosecondsPerSecond, Nanoseconds = timestamp % NanosecondsPerSecond };
        // A signal can wake the sleep early; an absolute deadline is simply slept to again.
        while (ClockNanosleep(ClockMonotonic, AbsoluteTime, in deadline, IntPtr.Zero) == Interrupted)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, in Timespec request, IntPtr remaining);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
