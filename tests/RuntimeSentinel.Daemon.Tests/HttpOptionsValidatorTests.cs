namespace RuntimeSentinel.Daemon.Tests;

public class HttpOptionsValidatorTests
{
    [Theory]
    [InlineData("127.0.0.1:9464", "127.0.0.1:9465", 25)]
    [InlineData("0.0.0.0:9464", "", 300)] // no admin endpoints
    [InlineData("[::1]:9464", "localhost:9465", 1)]
    [InlineData("127.0.0.1:0", "127.0.0.1:0", 25)] // tests: two free ports, not one
    public void Validate_ValidConfiguration_Succeeds(string listen, string adminListen, int shutdownSeconds)
    {
        var o = new HttpOptions { Listen = listen, AdminListen = adminListen, ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds) };

        var result = new HttpOptionsValidator().Validate(null, o);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_EveryFieldBad_ListsEachError()
    {
        var o = new HttpOptions { Listen = "metrics.local:9464", AdminListen = "127.0.0.1:70000", ShutdownTimeout = TimeSpan.FromMinutes(6) };

        var result = new HttpOptionsValidator().Validate(null, o);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains("Http:Listen 'metrics.local:9464' must be ip:port (e.g. 127.0.0.1:9464 or 0.0.0.0:9464).", failures);
        Assert.Contains("Http:AdminListen '127.0.0.1:70000' must be ip:port (e.g. 127.0.0.1:9465), or empty for none.", failures);
        Assert.Contains("Http:ShutdownTimeout must be between 0 and 5 minutes.", failures);
        Assert.Equal(3, failures.Count);
    }

    [Fact]
    public void Validate_AdminOnTheMetricsAddressAndNoShutdownTime_ListsEachError()
    {
        // A valid admin address that equals Listen is its own error (the bad-address error above excludes it).
        var o = new HttpOptions { Listen = "0.0.0.0:9464", AdminListen = "0.0.0.0:9464", ShutdownTimeout = TimeSpan.Zero };

        var result = new HttpOptionsValidator().Validate(null, o);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains("Http:AdminListen must differ from Http:Listen: /workloads must not be served where metrics are scraped.", failures);
        Assert.Contains("Http:ShutdownTimeout must be between 0 and 5 minutes.", failures);
        Assert.Equal(2, failures.Count);
    }
}
