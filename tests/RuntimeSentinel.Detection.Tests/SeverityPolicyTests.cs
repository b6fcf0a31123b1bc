using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection.Tests;

public class SeverityPolicyTests
{
    [Theory]
    [InlineData("/tmp/.x/xmrig", Severity.Critical)]
    [InlineData("/dev/shm/payload", Severity.High)]
    [InlineData("/bin/bash", Severity.High)]
    [InlineData("/usr/bin/nc", Severity.High)]
    [InlineData("/usr/bin/python3.11", Severity.Medium)]
    [InlineData("/usr/local/bin/helper", Severity.Medium)]
    public void ForExec_Binary_GetsSeverity(string exe, Severity expected)
    {
        Assert.Equal(expected, SeverityPolicy.ForExec(exe, "/usr/sbin/nginx").Severity);
    }

    [Theory]
    [InlineData("/bin/sh", "/usr/sbin/nginx", Severity.High)]
    [InlineData("/bin/sh", "/usr/bin/runc", Severity.Medium)]
    [InlineData("/usr/bin/curl", "/bin/sh", Severity.Medium)]
    public void ForLineage_ShellUnderServer_IsHigh(string exe, string parent, Severity expected)
    {
        Assert.Equal(expected, SeverityPolicy.ForLineage(exe, parent).Severity);
    }

    [Theory]
    [InlineData("/etc/shadow", "O_RDONLY", Severity.High)]
    [InlineData("/var/run/secrets/kubernetes.io/serviceaccount/token", "O_RDONLY", Severity.High)]
    [InlineData("/usr/bin/ls", "O_WRONLY|O_TRUNC", Severity.High)]
    [InlineData("/srv/data/x", "O_RDWR", Severity.Medium)]
    [InlineData("/srv/data/x", "O_RDONLY", Severity.Low)]
    [InlineData("/srv/data/x", null, Severity.Low)]
    public void ForFile_Path_GetsSeverity(string path, string? flags, Severity expected)
    {
        Assert.Equal(expected, SeverityPolicy.ForFile(path, flags).Severity);
    }

    [Theory]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("203.0.113.66", true)]
    [InlineData("2001:4860::8888", true)]
    public void IsPublic_Address_Classified(string ip, bool expected)
    {
        Assert.Equal(expected, SeverityPolicy.IsPublic(System.Net.IPAddress.Parse(ip)));
    }

    [Theory]
    [InlineData(Severity.Medium, "high", Severity.High)]
    [InlineData(Severity.Critical, "high", Severity.Critical)]
    [InlineData(Severity.Medium, "low", Severity.Low)]
    [InlineData(Severity.Info, "low", Severity.Info)]
    [InlineData(Severity.Medium, null, Severity.Medium)]
    public void AdjustForAsset_CriticalityLabel_MovesSeverityOneLevel(Severity finding, string? label, Severity expected)
    {
        Assert.Equal(expected, AlertFactory.AdjustForAsset(finding, label));
    }
}
