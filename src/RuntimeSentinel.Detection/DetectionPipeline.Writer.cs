using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>Events per hand-over to a shard: one queue write and at most one wake-up per batch.</summary>
    internal const int BatchSize = 64;

    public IIngestWriter CreateWriter() => new Writer(this);

    /// <summary>A run of one shard's events, in arrival order; pooled by the shard, so hand-overs allocate nothing.</summary>
    private sealed class IngestBatch
    {
        public IngestItem[] Items { get; } = new IngestItem[BatchSize];

        public int Count { get; private set; }

        public bool Full => Count == Items.Length;

        public void Add(in IngestItem item) => Items[Count++] = item;

        /// <summary>Drops the references (events, completions) so a pooled batch keeps nothing alive.</summary>
        public void Clear()
        {
            Array.Clear(Items, 0, Count);
            Count = 0;
        }
    }

    private sealed class Writer(DetectionPipeline pipeline) : IIngestWriter
    {
        private readonly IngestBatch?[] _open = new IngestBatch?[pipeline._shards.Length];

        public int Pending { get; private set; }

        public long PendingSince { get; private set; }

        public ValueTask<bool> WriteAsync(in IngestItem item, CancellationToken cancellationToken)
        {
            var index = pipeline.ShardIndex(item.Key.GetHashCode());
            var shard = pipeline._shards[index];
            var batch = _open[index] ??= shard.Rent();
            batch.Add(item);
            if (Pending++ == 0)
            {
                PendingSince = System.Diagnostics.Stopwatch.GetTimestamp();
            }

            if (!batch.Full)
            {
                return ValueTask.FromResult(true);
            }

            _open[index] = null;
            Taken(batch.Count);
            return shard.SendAsync(batch, cancellationToken);
        }

        public ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
        {
            var accepted = true;
            for (var i = 0; i < _open.Length; i++)
            {
                if (_open[i] is not { } batch)
                {
                    continue;
                }

                _open[i] = null;
                Taken(batch.Count);
                var send = pipeline._shards[i].SendAsync(batch, cancellationToken);
                if (!send.IsCompletedSuccessfully)
                {
                    return Rest(send, i + 1, cancellationToken);
                }

                accepted &= send.Result;
            }

            return ValueTask.FromResult(accepted);
        }

        /// <summary>A shard was full: wait for it, then hand over the remaining shards' batches.</summary>
        private async ValueTask<bool> Rest(ValueTask<bool> waiting, int next, CancellationToken cancellationToken)
        {
            var accepted = await waiting.ConfigureAwait(false);
            for (var i = next; i < _open.Length; i++)
            {
                if (_open[i] is { } batch)
                {
                    _open[i] = null;
                    Taken(batch.Count);
                    accepted &= await pipeline._shards[i].SendAsync(batch, cancellationToken).ConfigureAwait(false);
                }
            }

            return accepted;
        }

        private void Taken(int count)
        {
            Pending -= count;
            if (Pending == 0)
            {
                PendingSince = 0;
            }
        }
    }
}
