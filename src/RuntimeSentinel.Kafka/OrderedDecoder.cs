using Confluent.Kafka;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Threading;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Decoding off the consume thread, in order. The consume thread copies each message's value out of librdkafka's
/// buffer into the batch it is filling (one copy, no allocation) and hands full batches to decoder threads; it takes
/// decoded batches back in the order it handed them out, so enrichment, offsets and the hand-off to the shards see the
/// stream exactly as consumed. Decoding was most of the consume thread's time (3 µs of a 2 KB Tetragon message), which
/// capped the pipeline at what one core decodes.
/// </summary>
internal sealed class OrderedDecoder : IDeserializer<Ignore>, IDisposable
{
    /// <summary>Messages per batch; a batch is also handed out once its bytes pass <see cref="MaxBatchBytes"/>.</summary>
    internal const int BatchSize = 64;

    internal const int MaxBatchBytes = 1024 * 1024;

    // Batches handed out and not yet taken back, oldest first. Unbounded as a type, bounded by use: the consume thread
    // takes the oldest back (TakeDecoded waits) whenever Saturated, before it consumes more, so it holds at most
    // _maxInFlight batches, each closed at BatchSize messages or once past MaxBatchBytes.
    private readonly Queue<Batch> _inFlight = new();

    // Batches waiting for a decoder thread: a subset of _inFlight. Bounded to the same figure so the bound is stated
    // here too; a full queue would only make Submit wait for a decoder thread, which never waits on the consume thread.
    private readonly System.Collections.Concurrent.BlockingCollection<Batch> _work;

    // Handled batches kept for reuse (their arenas are the memory that matters): unbounded as a type, but it only ever
    // holds batches this decoder created, and it creates one only when none is free, so never more than _maxInFlight + 1.
    private readonly System.Collections.Concurrent.ConcurrentQueue<Batch> _free = new();
    private readonly Thread[] _threads;
    private readonly int _maxInFlight;
    private readonly Doorbell _done = new();
    private readonly int _deadLetterMaxBytes;
    private Batch _current;

    /// <param name="threads">Decoder threads.</param>
    /// <param name="createDeserializer">One decoder per thread: formats keep intern caches and are not thread-safe.</param>
    /// <param name="deadLetterMaxBytes">What a message that breaks its decoder keeps for the dead-letter topic.</param>
    public OrderedDecoder(int threads, Func<IDeserializer<DecodedMessage>> createDeserializer, int deadLetterMaxBytes)
    {
        _deadLetterMaxBytes = deadLetterMaxBytes;
        _current = new Batch();
        _maxInFlight = (2 * threads) + 2;
        _work = new System.Collections.Concurrent.BlockingCollection<Batch>(boundedCapacity: _maxInFlight + 1);
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            var deserializer = createDeserializer();
            _threads[i] = new Thread(() => Work(deserializer)) { IsBackground = true, Name = $"sentinel-decode-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Messages consumed and not yet taken back decoded.</summary>
    public int Pending { get; private set; }

    /// <summary>Copies a message's value into the open batch; it joins the batch when <see cref="Add"/> is called with its result.</summary>
    public Ignore Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        _current.Stage(data, isNull);
        return null!;
    }

    /// <summary>
    /// Adds the message just consumed (its value staged by <see cref="Deserialize"/>) and hands the batch to the decoder
    /// threads when it is full. Waits for the oldest batch when as many as the threads can work on are out.
    /// </summary>
    public void Add(ConsumeResult<Ignore, Ignore> result, PartitionTracker tracker)
    {
        _current.Commit(result, tracker);
        Pending++;
        if (_current.Count == BatchSize || _current.Used >= MaxBatchBytes)
        {
            Submit();
        }
    }

    /// <summary>Hands the open batch, if it has messages, to the decoder threads.</summary>
    public void Submit()
    {
        if (_current.Count == 0)
        {
            return;
        }

        var batch = _current;
        _current = _free.TryDequeue(out var free) ? free : new Batch();
        _inFlight.Enqueue(batch);
        _work.Add(batch);
    }

    /// <summary>Whether out batches have reached the limit (the consume thread should take one back first).</summary>
    public bool Saturated => _inFlight.Count >= _maxInFlight;

    /// <summary>The oldest batch out, once decoded; waits up to <paramref name="wait"/> for it.</summary>
    public bool TryTake(TimeSpan wait, out Batch batch)
    {
        batch = null!;
        if (!_inFlight.TryPeek(out var head))
        {
            return false;
        }

        if (!Volatile.Read(ref head.Done))
        {
            if (wait <= TimeSpan.Zero)
            {
                return false;
            }

            _done.Wait(head, static b => Volatile.Read(ref b.Done), wait);

            if (!Volatile.Read(ref head.Done))
            {
                return false;
            }
        }

        batch = _inFlight.Dequeue();
        Pending -= batch.Count;
        return true;
    }

    /// <summary>A batch taken back and handled: its memory is used again.</summary>
    public void Return(Batch batch)
    {
        batch.Reset();
        _free.Enqueue(batch);
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        foreach (var t in _threads)
        {
            t.Join(TimeSpan.FromSeconds(5));
        }

        _work.Dispose();
    }

    private void Work(IDeserializer<DecodedMessage> deserializer)
    {
        foreach (var batch in _work.GetConsumingEnumerable())
        {
            batch.Decode(deserializer, _deadLetterMaxBytes);
            Volatile.Write(ref batch.Done, true);
            _done.Ring();
        }
    }

    /// <summary>Up to <see cref="BatchSize"/> consumed messages: their bytes in one arena, then what they decoded to.</summary>
    internal sealed class Batch
    {
        // Arenas that grew for huge messages are not kept: a flood of 1 MB messages costs no lasting memory.
        private const int KeptArenaBytes = 2 * MaxBatchBytes;

        private readonly int[] _start = new int[BatchSize];
        private readonly int[] _length = new int[BatchSize];
        private readonly bool[] _null = new bool[BatchSize];
        private readonly ConsumeResult<Ignore, Ignore>?[] _results = new ConsumeResult<Ignore, Ignore>?[BatchSize];
        private readonly DecodedMessage[] _decoded = new DecodedMessage[BatchSize];
        private readonly PartitionTracker?[] _trackers = new PartitionTracker?[BatchSize];
        private byte[] _arena = new byte[64 * 1024];
        private int _stagedStart, _stagedLength;
        private bool _stagedNull;

        public bool Done;

        public int Count { get; private set; }

        public int Used { get; private set; }

        public ConsumeResult<Ignore, Ignore> Result(int i) => _results[i]!;

        public DecodedMessage Decoded(int i) => _decoded[i];

        /// <summary>The tracker the message's offset was tracked on when consumed (its partition may be gone since).</summary>
        public PartitionTracker Tracker(int i) => _trackers[i]!;

        public void Stage(ReadOnlySpan<byte> data, bool isNull)
        {
            if (Used + data.Length > _arena.Length)
            {
                Array.Resize(ref _arena, Math.Max(_arena.Length * 2, Used + data.Length));
            }

            data.CopyTo(_arena.AsSpan(Used));
            (_stagedStart, _stagedLength, _stagedNull) = (Used, data.Length, isNull);
        }

        public void Commit(ConsumeResult<Ignore, Ignore> result, PartitionTracker tracker)
        {
            _trackers[Count] = tracker;
            _start[Count] = _stagedStart;
            _length[Count] = _stagedLength;
            _null[Count] = _stagedNull;
            _results[Count] = result;
            Used = _stagedStart + _stagedLength;
            Count++;
        }

        public void Decode(IDeserializer<DecodedMessage> deserializer, int deadLetterMaxBytes)
        {
            for (var i = 0; i < Count; i++)
            {
                var value = _arena.AsSpan(_start[i], _length[i]);
                try
                {
                    _decoded[i] = deserializer.Deserialize(value, _null[i], new SerializationContext(MessageComponentType.Value, _results[i]!.Topic));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Decoders are guarded; this is defence in depth: the message is dead-lettered, never lost.
                    _decoded[i] = DecodedMessage.Rejected(
                        new DecodeError(DecodeErrorCode.DecoderFault, "", $"decoder failed ({ex.GetType().Name}: {ex.Message})"),
                        DeadLetterPayload.From(value, deadLetterMaxBytes));
                }
            }
        }

        /// <summary>Drops references (results, events) so a pooled batch keeps nothing alive.</summary>
        public void Reset()
        {
            Array.Clear(_results, 0, Count);
            Array.Clear(_decoded, 0, Count);
            Array.Clear(_trackers, 0, Count);
            Count = 0;
            Used = 0;
            Done = false;
            if (_arena.Length > KeptArenaBytes)
            {
                _arena = new byte[64 * 1024];
            }
        }
    }
}
