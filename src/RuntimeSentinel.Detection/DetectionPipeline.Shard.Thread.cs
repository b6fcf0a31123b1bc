namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>The shard's thread: how batches and commands reach it, how it sleeps and is woken, its loop.</summary>
    private sealed partial class Shard
    {
        // The shard runs on its own thread and waits on this monitor when it has nothing to do; a hand-over pulses it
        // only when the shard said it sleeps. Awaiting the channel instead woke thread-pool workers for every batch and
        // cost about 250,000 context switches a second at 150k events/s.
        private readonly object _bell = new();
        private int _sleeping;

        // The same for a dedicated sender (the consume thread) waiting for room: the shard pulses it after taking a batch.
        private readonly object _room = new();
        private int _senderWaiting;
        private bool _completing;

        // A missed ring (there should be none) costs at most this much delay, never a stuck shard.
        private static readonly TimeSpan IdleWake = TimeSpan.FromMilliseconds(100);

        public void Start()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _loop = done.Task;
            new Thread(() => Run(done)) { IsBackground = true, Name = $"sentinel-shard-{_index}" }.Start();
        }

        /// <summary>Hands a batch over, waiting while the shard is full (backpressure); false once the shard is completing.</summary>
        public ValueTask<bool> SendAsync(IngestBatch batch, CancellationToken ct)
        {
            Interlocked.Add(ref _queued, batch.Count);
            if (_queue.Writer.TryWrite(batch))
            {
                Ring();
                return ValueTask.FromResult(true);
            }

            // A dedicated thread (the consume loop) blocks until there is room; awaiting the channel would complete on a
            // thread-pool worker for every batch once the shard is the bottleneck.
            return Thread.CurrentThread.IsThreadPoolThread ? SlowAsync(batch, ct) : ValueTask.FromResult(WaitForRoom(batch, ct));

            async ValueTask<bool> SlowAsync(IngestBatch batch, CancellationToken ct)
            {
                try
                {
                    while (await _queue.Writer.WaitToWriteAsync(ct).ConfigureAwait(false))
                    {
                        if (_queue.Writer.TryWrite(batch))
                        {
                            Ring();
                            return true;
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Add(ref _queued, -batch.Count);
                    throw;
                }

                Interlocked.Add(ref _queued, -batch.Count);
                return false;
            }
        }

        private bool WaitForRoom(IngestBatch batch, CancellationToken ct)
        {
            try
            {
                lock (_room)
                {
                    Interlocked.Exchange(ref _senderWaiting, 1);
                    try
                    {
                        while (!_queue.Writer.TryWrite(batch))
                        {
                            if (Volatile.Read(ref _completing))
                            {
                                Interlocked.Add(ref _queued, -batch.Count);
                                return false;
                            }

                            ct.ThrowIfCancellationRequested();
                            Monitor.Wait(_room, IdleWake);
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref _senderWaiting, 0);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                Interlocked.Add(ref _queued, -batch.Count);
                throw;
            }

            Ring();
            return true;
        }

        public void Complete()
        {
            Volatile.Write(ref _completing, true);
            lock (_room)
            {
                Monitor.PulseAll(_room);
            }

            _queue.Writer.TryComplete();
            _commands.Writer.TryComplete();
            Ring();
        }

        /// <summary>Queues a state change or read for the shard thread; false once the shard has stopped taking them.</summary>
        private bool Post(Action command)
        {
            if (!_commands.Writer.TryWrite(command))
            {
                return false;
            }

            Ring();
            return true;
        }

        /// <summary>Wakes the shard if it sleeps. The fence pairs with the one in <see cref="Sleep"/>: either the shard sees the new work, or this sees it sleeping.</summary>
        private void Ring()
        {
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _sleeping) == 1)
            {
                lock (_bell)
                {
                    Monitor.Pulse(_bell);
                }
            }
        }

        /// <summary>Wakes a dedicated sender waiting for room (see <see cref="WaitForRoom"/>); fenced as <see cref="Ring"/>.</summary>
        private void MakeRoom()
        {
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _senderWaiting) == 1)
            {
                lock (_room)
                {
                    Monitor.Pulse(_room);
                }
            }
        }

        /// <summary>Waits for work. Announces itself under the lock, so a ring between the check and the wait is not lost.</summary>
        private void Sleep()
        {
            lock (_bell)
            {
                Interlocked.Exchange(ref _sleeping, 1);
                if (!_queue.Reader.TryPeek(out _) && !_commands.Reader.TryPeek(out _) && !_queue.Reader.Completion.IsCompleted)
                {
                    Monitor.Wait(_bell, IdleWake);
                }

                Volatile.Write(ref _sleeping, 0);
            }
        }

        private void Run(TaskCompletionSource done)
        {
            _stage.Running();
            try
            {
                Loop();
                _stage.Stopped();
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                // Process() and commands catch per item; anything reaching here means the shard is gone.
                _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
                LogShardFaulted(_logger, ex, _index);
                done.TrySetException(ex);
            }
        }

        private void Loop()
        {
            var reader = _queue.Reader;
            while (true)
            {
                RunCommands();
                if (reader.TryRead(out var batch))
                {
                    MakeRoom();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        Process(batch.Items[i]);
                    }

                    Interlocked.Add(ref _queued, -batch.Count);
                    batch.Clear();
                    _free.Enqueue(batch);
                    continue;
                }

                if (reader.Completion.IsCompleted)
                {
                    break;
                }

                Sleep();
            }

            RunCommands();
            CheckpointChanged();
        }
    }
}
