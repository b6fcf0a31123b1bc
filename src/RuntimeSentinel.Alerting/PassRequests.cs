namespace RuntimeSentinel.Alerting;

/// <summary>
/// Requests for a dispatcher pass now (<c>FlushAsync</c>, <c>TickAsync</c>), answered by the first pass that starts
/// after they arrive. <see cref="Wake"/> is completed while a request waits: the loop takes it before it starts waiting,
/// so a request that arrives just before the loop creates its next tick (or at any other moment) ends that wait at once
/// instead of being noticed one tick later. Thread-safe.
/// </summary>
internal sealed class PassRequests
{
    private readonly Lock _gate = new();
    // Unbounded as a type, bounded by use: it holds the requests made since the current pass started (a flush on
    // revoke or stop, a tick), and each pass answers all it found; a request also wakes the loop at once.
    private readonly List<(bool Flush, TaskCompletionSource Done)> _requests = [];
    private TaskCompletionSource _wake = NewSignal();
    private bool _running;

    /// <summary>Completed while a request waits for a pass.</summary>
    public Task Wake
    {
        get
        {
            lock (_gate)
            {
                return _wake.Task;
            }
        }
    }

    /// <summary>A pass is wanted; completes when one has run (at once when the loop does not run).</summary>
    public Task Request(bool flush)
    {
        var done = NewSignal();
        lock (_gate)
        {
            if (!_running)
            {
                // Not started, or stopped: the final pass has emitted everything already.
                done.SetResult();
                return done.Task;
            }

            _requests.Add((flush, done));
            _wake.TrySetResult();
        }

        return done.Task;
    }

    public void Started()
    {
        lock (_gate)
        {
            _running = true;
        }
    }

    /// <summary>No pass will answer what still waits: the final one has run (or the loop is dead).</summary>
    public void Stopped()
    {
        lock (_gate)
        {
            _running = false;
            foreach (var r in _requests)
            {
                r.Done.TrySetResult();
            }

            _requests.Clear();
        }
    }

    /// <summary>The requests this pass answers (those waiting now), and whether one of them asks for a flush.</summary>
    public (int Count, bool Flush) StartPass()
    {
        lock (_gate)
        {
            if (_wake.Task.IsCompleted)
            {
                // Requests from now on wake the next wait; the ones waiting now are this pass's.
                _wake = NewSignal();
            }

            return (_requests.Count, _requests.Exists(r => r.Flush));
        }
    }

    public void EndPass(int answering)
    {
        if (answering == 0)
        {
            return;
        }

        lock (_gate)
        {
            for (var i = 0; i < answering; i++)
            {
                _requests[i].Done.TrySetResult();
            }

            _requests.RemoveRange(0, answering);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
