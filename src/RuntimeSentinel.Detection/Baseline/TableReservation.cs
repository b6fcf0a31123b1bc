namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// What a per-workload table holds (learned items, per-peer tables), charged to the node's memory budget: a new entry
/// is refused (counted as <c>baseline_items</c>) once the budget is spent, and everything is given back when the table
/// is cleared or dropped. Without a budget nothing is counted.
/// </summary>
internal sealed class TableReservation(Models.ModelMemoryBudget? memory)
{
    /// <summary>Bytes reserved for the table's entries.</summary>
    public long Bytes { get; private set; }

    public bool TryTake(long bytes)
    {
        if (memory is null)
        {
            return true;
        }

        if (!memory.TryReserve(bytes))
        {
            memory.Refused(Models.MemoryRefusal.BaselineItems);
            return false;
        }

        Bytes += bytes;
        return true;
    }

    public void ReleaseAll()
    {
        if (Bytes > 0)
        {
            memory?.Release(Bytes);
            Bytes = 0;
        }
    }
}
