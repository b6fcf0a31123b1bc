using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>A run of one shard's events, in arrival order; pooled by the shard, so hand-overs allocate nothing.</summary>
internal sealed class IngestBatch
{
    /// <summary>Events per hand-over to a shard: one queue write and at most one wake-up per batch.</summary>
    public const int Size = 64;

    // One slot beyond the batch size: a clock mark always fits, even into a batch that just filled up.
    public IngestItem[] Items { get; } = new IngestItem[Size + 1];

    public int Count { get; private set; }

    public bool Full => Count >= Size;

    public void Add(in IngestItem item) => Items[Count++] = item;

    /// <summary>Drops the references (events, completions) so a pooled batch keeps nothing alive.</summary>
    public void Clear()
    {
        Array.Clear(Items, 0, Count);
        Count = 0;
    }
}
