using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

/// <summary>
/// A fake clock that also knows what waits on it. A loop under test arms a timer (a retry back-off, the replay wake)
/// on another thread; advancing before that timer exists would be lost and the loop would then wait forever. So a test
/// first waits until a timer of the expected length is armed, then advances past it: no step depends on how fast the
/// machine is.
/// </summary>
/// <remarks>
/// Two more things make it deterministic. Timer callbacks run on the thread pool, not inside <see cref="Advance"/>:
/// the advancing test thread never runs the code under test itself. And every call into the fake timers is serialised:
/// <see cref="FakeTimeProvider"/> fires due timers from whichever thread arms or advances, and skips that work when
/// another thread is at it, so an advance that met a timer being armed elsewhere could be lost (seen once in a few
/// hundred runs).
/// </remarks>
internal sealed class TestClock() : FakeTimeProvider(Some.Time)
{
    /// <summary>
    /// How long a test waits for the code under test to do something (arm a timer, deliver an incident). Generous: it is
    /// reached only when that code is broken, never as a pause of a passing test.
    /// </summary>
    public static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(60);

    private readonly Lock _serial = new();
    private readonly Lock _gate = new();
    private readonly List<TrackedTimer> _armed = [];
    private TaskCompletionSource _changed = NewSignal();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new TrackedTimer(this);
        lock (_serial)
        {
            // Armed before the fake timer exists: one due now fires inside CreateTimer and is disarmed again.
            timer.Track(dueTime);
            timer.Inner = base.CreateTimer(
                s =>
                {
                    timer.Fired();
                    ThreadPool.UnsafeQueueUserWorkItem(callback.Invoke, s, preferLocal: false);
                },
                state,
                dueTime,
                period);
        }

        return timer;
    }

    /// <summary>Moves the clock; the timers it passes fire (their callbacks run on the thread pool).</summary>
    public new void Advance(TimeSpan delta)
    {
        lock (_serial)
        {
            base.Advance(delta);
        }
    }

    /// <summary>Completes once a timer of exactly <paramref name="due"/> is armed and has not fired (nor been disposed).</summary>
    public Task WaitForTimerAsync(TimeSpan due) => WaitForTimerAsync(due, until: null);

    /// <summary>Waits until something waits <paramref name="due"/> on this clock, then advances by that much.</summary>
    public async Task AdvanceWhenWaitedOnAsync(TimeSpan due)
    {
        await WaitForTimerAsync(due);
        Advance(due);
    }

    /// <summary>
    /// Advances by <paramref name="step"/> each time something waits that long, until <paramref name="work"/> completes
    /// (a stop that goes through back-offs), and awaits it.
    /// </summary>
    public async Task AdvanceUntilAsync(Task work, TimeSpan step)
    {
        while (await WaitForTimerAsync(step, work))
        {
            Advance(step);
        }

        await work;
    }

    /// <summary>True once a timer of <paramref name="due"/> is armed; false if <paramref name="until"/> completes first.</summary>
    private async Task<bool> WaitForTimerAsync(TimeSpan due, Task? until)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Ceiling.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_armed.Exists(t => t.Due == due))
                {
                    return true;
                }

                changed = _changed.Task;
            }

            if (until is { IsCompleted: true })
            {
                return false;
            }

            try
            {
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                await (until is null ? changed : Task.WhenAny(changed, until)).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Nothing waited {due.TotalMilliseconds} ms on the clock within {Ceiling.TotalSeconds} s; armed: [{Armed()}]");
            }
        }
    }

    private string Armed()
    {
        lock (_gate)
        {
            return string.Join(", ", _armed.Select(t => $"{t.Due.TotalMilliseconds} ms"));
        }
    }

    private void Changed(TrackedTimer timer, bool armed)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _armed.Remove(timer);
            if (armed)
            {
                _armed.Add(timer);
            }

            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The fake timer, plus whether it is armed (so a test can see that something waits on it).</summary>
    private sealed class TrackedTimer(TestClock clock) : ITimer
    {
        public ITimer Inner { get; set; } = null!;

        public TimeSpan Due { get; private set; }

        public void Track(TimeSpan due)
        {
            Due = due;
            clock.Changed(this, armed: due != Timeout.InfiniteTimeSpan);
        }

        // One-shot timers only (the alerting code arms no periodic ones): fired means no longer waited on.
        public void Fired() => clock.Changed(this, armed: false);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._serial)
            {
                Track(dueTime);
                return Inner.Change(dueTime, period);
            }
        }

        public void Dispose()
        {
            lock (clock._serial)
            {
                clock.Changed(this, armed: false);
                Inner.Dispose();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
