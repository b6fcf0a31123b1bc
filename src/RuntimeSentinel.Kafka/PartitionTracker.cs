using Confluent.Kafka;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// At-least-once bookkeeping for one assigned partition. Events of one partition are processed by several
/// shards and finish out of order; the committable position only advances over a contiguous run of finished
/// offsets, so a crash never commits past an event that was not processed.
/// </summary>
public sealed class PartitionTracker(TopicPartition partition) : IOffsetCompletion
{
    private readonly Lock _gate = new();
    private readonly Queue<long> _pending = new();
    private readonly HashSet<long> _finishedEarly = [];
    private long _next = -1;
    private bool _dirty;

    public TopicPartition Partition { get; } = partition;

    /// <summary>Set when the partition is revoked; late completions are then ignored.</summary>
    public bool Revoked { get; set; }

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Called by the consumer thread, in offset order, for every message handed on.</summary>
    public void Track(long offset)
    {
        lock (_gate)
        {
            _pending.Enqueue(offset);
        }
    }

    public void Complete(long offset)
    {
        lock (_gate)
        {
            if (_pending.Count == 0 || _pending.Peek() != offset)
            {
                _finishedEarly.Add(offset);
                return;
            }

            _next = _pending.Dequeue() + 1;
            while (_pending.Count > 0 && _finishedEarly.Remove(_pending.Peek()))
            {
                _next = _pending.Dequeue() + 1;
            }

            _dirty = true;
        }
    }

    /// <summary>The next offset to commit if it moved since the last call (Kafka commits "next to read").</summary>
    public bool TryTakeCommittable(out TopicPartitionOffset position)
    {
        lock (_gate)
        {
            if (!_dirty)
            {
                position = null!;
                return false;
            }

            _dirty = false;
            position = new TopicPartitionOffset(Partition, new Offset(_next));
            return true;
        }
    }
}
