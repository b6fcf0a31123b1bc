namespace RuntimeSentinel.Core.Threading;

/// <summary>
/// How a dedicated thread waits for another thread to make something true, without a wake-up per signal: the waiter
/// announces itself and checks again before it sleeps; <see cref="Ring"/> pulses only while someone waits. Both sides
/// fence between their write and their read (the waiter: announce, then check; the ringer: the change, then look for
/// a waiter), so either the waiter sees the change or the ringer sees the waiter: a ring is never lost. Waits are
/// bounded all the same, so a missed ring could only cost the timeout.
/// </summary>
public sealed class Doorbell
{
    private readonly object _gate = new();
    private int _waiting;

    /// <summary>After making the change a waiter waits for.</summary>
    public void Ring()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waiting) != 0)
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Sleeps up to <paramref name="timeout"/> unless <paramref name="ready"/> holds once the wait is announced.</summary>
    public void Wait<TState>(TState state, Func<TState, bool> ready, TimeSpan timeout)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _waiting);
            try
            {
                if (!ready(state))
                {
                    Monitor.Wait(_gate, timeout);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }
}
