using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Detection.Tests;

public class PathNormalizerTests
{
    [Theory]
    [InlineData("/etc/passwd", "/etc/passwd")]
    [InlineData("/proc/4711/stat", "/proc/{n}/stat")]
    [InlineData("/proc/42/stat", "/proc/{n}/stat")]
    [InlineData("/data/in/part-0007.csv", "/data/in/part-{n}.csv")]
    [InlineData("/tmp/report-8f3a2c9d00112233.tmp", "/tmp/report-{hex}.tmp")]
    [InlineData("/tmp/report-1234567890123456.tmp", "/tmp/report-{hex}.tmp")]
    [InlineData("/var/lib/postgresql/data/pg_wal/0000000100000000000000C7", "/var/lib/postgresql/data/pg_wal/{hex}")]
    [InlineData("/run/containerd/6f1c2d3e-4b5a-6789-abcd-ef0123456789/config.json", "/run/containerd/{uuid}/config.json")]
    [InlineData("/tmp/sess_k3x9q2zz7w", "/tmp/sess_{rand}")]
    [InlineData("/tmp/phpDmkjD0", "/tmp/{rand}")]
    [InlineData("/tmp/phpwMasYn", "/tmp/phpwMasYn")]
    [InlineData("/srv/MyDocument.txt", "/srv/MyDocument.txt")]
    [InlineData("/usr/lib/python3.12/os.py", "/usr/lib/python3.{n}/os.py")]
    [InlineData("//etc/./nginx//nginx.conf", "/etc/nginx/nginx.conf")]
    [InlineData("relative/2/x", "/relative/{n}/x")]
    [InlineData("/var/run/secrets/kubernetes.io/serviceaccount/..2026_11_30_01_23_45.123456789/token", "/var/run/secrets/kubernetes.io/serviceaccount/token")]
    [InlineData("/var/run/secrets/kubernetes.io/serviceaccount/..2026_11_30_02_23_46.42/token", "/var/run/secrets/kubernetes.io/serviceaccount/token")]
    [InlineData("/var/run/secrets/kubernetes.io/serviceaccount/..data/token", "/var/run/secrets/kubernetes.io/serviceaccount/token")]
    [InlineData("/var/run/secrets/kubernetes.io/serviceaccount/token", "/var/run/secrets/kubernetes.io/serviceaccount/token")]
    [InlineData("/etc/app/config/..2026_12_05_10_00_00.3904815729/settings.yaml", "/etc/app/config/settings.yaml")]
    [InlineData("/etc/app/..2026_12_05_10_00_00/x", "/etc/app/..{n}_{n}_{n}_{n}_{n}_{n}/x")]
    [InlineData("/srv/../etc/passwd", "/srv/../etc/passwd")]
    [InlineData("/rails/tmp/cache/1e8d/f148/views-385b65bc8a2f61f3", "/rails/tmp/cache/{hex}/{hex}/views-{hex}")]
    [InlineData("/rails/tmp/cache/b538/fdcd/views-0f359ef9750763b8", "/rails/tmp/cache/{hex}/fdcd/views-{hex}")]
    [InlineData("/var/log/pods/kube-system_coredns-757v4bz898-xt4wl_1ff3ba35-7824-a038-843b-3400e63f9c10/coredns/0.log", "/var/log/pods/kube-system_coredns-{rand}-{rand}_{uuid}/coredns/{n}.log")]
    [InlineData("/var/log/pods/kube-system_coredns-757v4bz898-q8v2n_7a9c1d22-03be-4c8e-9b1f-2d7e6a5c4b3a/coredns/0.log", "/var/log/pods/kube-system_coredns-{rand}-{rand}_{uuid}/coredns/{n}.log")]
    [InlineData("/usr/share/nginx/html/cafe/beef.css", "/usr/share/nginx/html/cafe/beef.css")]
    [InlineData("/etc/nginx/conf.d/default.conf", "/etc/nginx/conf.d/default.conf")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_{n}-linux-gnu/libc.so.{n}")]
    public void Normalize_ConcretePath_ReturnsShape(string path, string expected)
    {
        Assert.Equal(expected, PathNormalizer.Normalize(path));
    }

    [Fact]
    public void Normalize_PathWithoutDigits_ReturnsSameInstance()
    {
        var p = "/usr/share/nginx/html/index.html";
        Assert.Same(p, PathNormalizer.Normalize(p));
    }

    [Fact]
    public void Normalize_VeryDeepPath_IsCut()
    {
        var deep = string.Concat(Enumerable.Range(0, 100).Select(i => "/d" + i));
        var n = PathNormalizer.Normalize(deep);
        Assert.EndsWith("/{deep}", n);
        Assert.Equal(PathNormalizer.MaxSegments + 1, n.Count(c => c == '/'));
    }
}
