using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class ConnectionSidesTests
{
    [Theory]
    [InlineData(32767, false)]
    [InlineData(32768, true)]
    [InlineData(60999, true)]
    [InlineData(61000, false)]
    public void IsEphemeral_LinuxDefaultRange_IsInclusive(int port, bool expected)
    {
        Assert.Equal(expected, ConnectionSides.IsEphemeral(port));
    }

    [Theory]
    [InlineData(41000, 5432, NetDirection.Outbound)]
    [InlineData(5432, 41000, NetDirection.Inbound)]
    [InlineData(22, 2222, NetDirection.Inbound)]
    [InlineData(2222, 443, NetDirection.Outbound)]
    [InlineData(8080, 9090, NetDirection.Unknown)]
    [InlineData(-1, 443, NetDirection.Unknown)]
    public void Direction_Ports_TheEphemeralOrHighSideIsTheClient(int local, int remote, NetDirection expected)
    {
        Assert.Equal(expected, ConnectionSides.Direction(new NetInfo("tcp", "10.0.0.1", local, "10.0.0.2", remote, 0, 0)));
    }
}
