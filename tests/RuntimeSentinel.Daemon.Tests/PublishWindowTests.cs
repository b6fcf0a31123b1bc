using RuntimeSentinel.Daemon.Cli;

namespace RuntimeSentinel.Daemon.Tests;

public class PublishWindowTests
{
    [Fact]
    public async Task WaitForRoom_MoreAheadThanTheBudget_WaitsUntilTheConsumerReads()
    {
        long read = 0;
        var window = new PublishWindow(() => Interlocked.Read(ref read), maxAheadBytes: 2_500);
        await window.WaitForRoomAsync(1_000, CancellationToken.None);
        await window.WaitForRoomAsync(1_000, CancellationToken.None);

        // 2,000 unread; another 1,000 would be 3,000: it waits (the first look finds no room, so it is not done yet).
        var third = window.WaitForRoomAsync(1_000, CancellationToken.None);
        Assert.False(third.IsCompleted);
        Assert.Equal(2_000, window.AheadBytes);

        Interlocked.Exchange(ref read, 1);
        await third.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2_000, window.AheadBytes);
    }

    [Fact]
    public async Task WaitForRoom_MessageLargerThanTheBudget_PassesOnceEverythingBeforeIsRead()
    {
        long read = 0;
        var window = new PublishWindow(() => Interlocked.Read(ref read), maxAheadBytes: 100);
        await window.WaitForRoomAsync(60, CancellationToken.None);
        var big = window.WaitForRoomAsync(500, CancellationToken.None);
        Assert.False(big.IsCompleted);

        Interlocked.Exchange(ref read, 1);
        await big.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(500, window.AheadBytes);
    }

    [Fact]
    public async Task WaitForRoom_Cancelled_StopsWaiting()
    {
        var window = new PublishWindow(() => 0, maxAheadBytes: 10);
        await window.WaitForRoomAsync(10, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var blocked = window.WaitForRoomAsync(10, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
