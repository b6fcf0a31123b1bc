using RuntimeSentinel.Core.Threading;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>The shard's thread: how batches and commands reach it, how it sleeps and is woken, its loop.</summary>
    private sealed partial class Shard
    {
        // The shard runs on its own thread and waits on this doorbell when it has nothing to do; a hand-over rings it,
        // which wakes the shard only when it sleeps. Awaiting the channel instead woke thread-pool workers for every batch and
        // cost about 250,000 context switches a second at 150k events/s.
        private readonly Doorbell _work = new();

        // The same for a dedicated sender (the consume thread) waiting for room: the shard rings it after taking a batch.
        private readonly Doorbell _room = new();
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
            while (!_queue.Writer.TryWrite(batch))
            {
                if (Volatile.Read(ref _completing))
                {
                    Interlocked.Add(ref _queued, -batch.Count);
                    return false;
                }

                if (ct.IsCancellationRequested)
                {
                    Interlocked.Add(ref _queued, -batch.Count);
                    ct.ThrowIfCancellationRequested();
                }

                _room.Wait(this, static s => s._queue.Reader.Count < s._capacity || Volatile.Read(ref s._completing), IdleWake);
            }

            Ring();
            return true;
        }

        public void Complete()
        {
            Volatile.Write(ref _completing, true);
            _room.Ring();

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

        /// <summary>Wakes the shard if it sleeps.</summary>
        private void Ring() => _work.Ring();

        /// <summary>Waits for work: a batch, a command, or completion.</summary>
        private void Sleep() =>
            _work.Wait(this, static s => s._queue.Reader.TryPeek(out _) || s._commands.Reader.TryPeek(out _) || s._queue.Reader.Completion.IsCompleted, IdleWake);

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
                    _room.Ring();
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
