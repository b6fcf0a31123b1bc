using Confluent.Kafka;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// At-least-once bookkeeping for one assigned partition. Events of one partition are processed by several
/// shards and finish out of order; the committable position only advances over a contiguous run of finished
/// offsets, so a crash never commits past an event that was not processed.
/// </summary>
/// <param name="checkpointed">Whether commits wait for checkpoints (see <see cref="AllowUpTo"/>); false: no barrier.</param>
internal sealed class PartitionTracker(TopicPartition partition, bool checkpointed = false) : IOffsetCompletion
{
    private readonly Lock _gate = new();
    // Offsets consumed and not yet finished, in offset order. Unbounded as a type: one entry per message between the
    // consume call and the end of its processing, so it is bounded by the stages that hold those messages, each bounded
    // (the decoder's in-flight batches, the writer's batch, the shards' Wait channels; events awaiting alert delivery,
    // whose queues are bounded in alerting; dead letters being retried, whose partition is paused once they fail).
    private readonly Queue<long> _pending = new();

    // Finished offsets waiting for an earlier one: a subset of _pending's offsets, so bounded by it.
    private readonly HashSet<long> _finishedEarly = [];
    private long _next = -1;
    private bool _dirty;

    // With checkpoints, the committable position never passes what a written checkpoint covers: after a crash the
    // events since the commit are replayed into a baseline that has not seen them (at-least-once, never skipped).
    private long _barrier = checkpointed ? -1 : long.MaxValue;
    private long _taken = -1;

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

    /// <summary>The position processing has finished (next offset to read), checkpoint or not; -1 before any.</summary>
    public long Completed
    {
        get
        {
            lock (_gate)
            {
                return _next;
            }
        }
    }

    /// <summary>A checkpoint covers everything before <paramref name="next"/>: it may be committed.</summary>
    public void AllowUpTo(long next)
    {
        lock (_gate)
        {
            if (next > _barrier)
            {
                _barrier = next;
                _dirty = true;
            }
        }
    }

    /// <summary>The next offset to commit if it moved since the last call (Kafka commits "next to read").</summary>
    public bool TryTakeCommittable(out TopicPartitionOffset position)
    {
        lock (_gate)
        {
            var next = Math.Min(_next, _barrier);
            if (!_dirty || next <= _taken)
            {
                _dirty = false;
                position = null!;
                return false;
            }

            _dirty = false;
            _taken = next;
            position = new TopicPartitionOffset(Partition, new Offset(next));
            return true;
        }
    }
}
