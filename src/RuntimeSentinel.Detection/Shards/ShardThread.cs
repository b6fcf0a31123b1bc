using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Core.Threading;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>What a shard thread runs: each event of a batch, each command between batches, a last step once both queues are drained.</summary>
internal interface IShardWork
{
    void Process(in IngestItem item);

    void Execute(ShardCommand command);

    /// <summary>After the last batch and the last command: nothing reaches the shard any more.</summary>
    void Drained();
}

/// <summary>
/// A shard's thread and its two bounded queues: batches of events (ingestion waits for room, so backpressure reaches
/// the consumer) and commands (senders wait, asynchronously and in order, for room). It runs commands before each
/// batch, so a request waits for at most one batch of events, and sleeps on a doorbell when both queues are empty.
/// </summary>
/// <remarks>
/// Why the bounded command queue cannot deadlock: a sender that finds it full awaits <c>WriteAsync</c>, which blocks
/// no thread, and is let in when the shard reads a command. The shard thread reads commands whatever else happens (it
/// waits on no sender, no lock a sender holds and no reply), and it never posts to its own queue: background training
/// posts from a pool thread, and workload-appeared handlers must return at once. So a sender waiting for room waits on
/// exactly what it would wait on for its reply anyway: the shard reaching its next drain.
/// </remarks>
internal sealed partial class ShardThread
{
    /// <summary>
    /// Commands a shard holds before senders wait. Commands are rare (a snapshot and a checkpoint per interval, a verdict
    /// or a swap now and then, a trained model per workload finishing learning); a burst beyond this waits its turn.
    /// </summary>
    public const int DefaultCommandCapacity = 256;

    // A missed ring (there should be none) costs at most this much delay, never a stuck shard.
    private static readonly TimeSpan IdleWake = TimeSpan.FromMilliseconds(100);

    private readonly Channel<IngestBatch> _queue;
    private readonly Channel<ShardCommand> _commands;

    // Batches the queue holds (its capacity in events over the batch size).
    private readonly int _capacity;

    // Emptied batches, for the writer to fill again: a hand-over allocates nothing in steady state.
    // Bounded by use: it holds only batches that came back from the event queue (bounded by ShardQueueCapacity) or the
    // writer's one open batch; a batch is created only when none is free.
    private readonly ConcurrentQueue<IngestBatch> _free = new();

    // The shard waits on this doorbell when it has nothing to do; a hand-over rings it, which wakes the shard only when
    // it sleeps. Awaiting the channel instead woke thread-pool workers for every batch and cost about 250,000 context
    // switches a second at 150k events/s.
    private readonly Doorbell _work = new();

    // The same for a dedicated sender (the consume thread) waiting for room: the shard rings it after taking a batch.
    private readonly Doorbell _room = new();

    private readonly int _index;
    private readonly IShardWork _target;
    private readonly StageHealth _stage;
    private readonly ILogger _logger;
    private int _queued;
    private bool _completing;
    private Task _loop = Task.CompletedTask;

    /// <param name="eventCapacity">Events the batch queue holds (rounded down to whole batches, at least one).</param>
    public ShardThread(int index, IShardWork target, int eventCapacity, int commandCapacity, StageHealth stage, ILogger logger)
    {
        _index = index;
        _target = target;
        _stage = stage;
        _logger = logger;
        _capacity = Math.Max(1, eventCapacity / IngestBatch.Size);
        _queue = Channel.CreateBounded<IngestBatch>(new BoundedChannelOptions(_capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _commands = Channel.CreateBounded<ShardCommand>(new BoundedChannelOptions(commandCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Completes when the loop has ended (faulted if the shard died).</summary>
    public Task Completion => _loop;

    /// <summary>Events waiting; read when metrics are refreshed (a shared gauge per event would contend across threads).</summary>
    public int QueueCount => Volatile.Read(ref _queued);

    /// <summary>Commands waiting in the queue (not counting senders waiting for room).</summary>
    public int CommandCount => _commands.Reader.Count;

    public IngestBatch Rent() => _free.TryDequeue(out var batch) ? batch : new IngestBatch();

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

    /// <summary>
    /// Queues a command for the shard thread; false once the shard has stopped taking them. Never blocks the calling
    /// thread: when the queue is full the returned task completes once the command is in (senders get in in order).
    /// </summary>
    public ValueTask<bool> PostAsync(ShardCommand command)
    {
        if (_commands.Writer.TryWrite(command))
        {
            Ring();
            return ValueTask.FromResult(true);
        }

        // Full (or closed): WriteAsync queues this sender behind those already waiting, so commands stay in order.
        return WaitToPostAsync(command);
    }

    private async ValueTask<bool> WaitToPostAsync(ShardCommand command)
    {
        try
        {
            await _commands.Writer.WriteAsync(command).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return false;
        }

        Ring();
        return true;
    }

    /// <summary>Stops taking batches and commands; the loop drains what is queued, then ends.</summary>
    public void Complete()
    {
        Volatile.Write(ref _completing, true);
        _room.Ring();

        // Commands close first: one accepted before this line is queued when the loop sees the batches end, so its last
        // drain runs it; none can be accepted after that drain and wait for ever. Senders still waiting for room are
        // told the shard stopped.
        _commands.Writer.TryComplete();
        _queue.Writer.TryComplete();
        Ring();
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
            // Processing and commands catch per item; anything reaching here means the shard is gone.
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
                    _target.Process(batch.Items[i]);
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
        _target.Drained();
    }

    private void RunCommands()
    {
        while (_commands.Reader.TryRead(out var command))
        {
            try
            {
                _target.Execute(command);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A verdict, swap or snapshot that fails must not end the shard; its sender gets the exception.
                command.Fail(ex);
                _stage.ItemFailed($"command failed: {ex.GetType().Name}: {ex.Message}");
                LogCommandFailed(_logger, ex, _index);
            }
        }
    }
}
