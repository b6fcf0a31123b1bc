using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

public class KernelFunctionsTests
{
    [Theory]
    [InlineData("__x64_sys_setuid", "setuid")]
    [InlineData("__arm64_sys_openat", "openat")]
    [InlineData("sys_enter_openat", "openat")]
    [InlineData("security_file_permission", "security_file_permission")]
    public void SyscallName_PrefixedWrappers_AreTheSyscall(string function, string expected)
    {
        Assert.Equal(expected, KernelFunctions.SyscallName(function));
    }

    [Fact]
    public void SyscallName_LongerThan64_IsCut()
    {
        Assert.Equal(64, KernelFunctions.SyscallName(new string('f', 100)).Length);
    }

    [Theory]
    [InlineData("tcp_connect", "Connect")]
    [InlineData("socket_connect", "Connect")]
    [InlineData("__x64_sys_connect", "Connect")]
    [InlineData("inet_csk_accept", "Accept")]
    [InlineData("__arm64_sys_accept4", "Accept")]
    [InlineData("udp_sendmsg", "Datagram")]
    [InlineData("tcp_sendmsg", "Send")]
    [InlineData("socket_recvmsg", "Receive")]
    [InlineData("tcp_close", "Close")]
    [InlineData("__x64_sys_listen", "Listen")]
    [InlineData("security_file_open", "None")]
    public void NetRole_HookedFunction_IsItsConnectionRole(string function, string expected)
    {
        // The role by name: the enum is internal, and a public test method cannot take it.
        Assert.Equal(expected, KernelFunctions.NetRole(function).ToString());
    }

    [Theory]
    [InlineData(0L, null)]
    [InlineData(1L, null)]
    [InlineData(4L, "O_RDONLY")]
    [InlineData(2L, "O_WRONLY")]
    [InlineData(6L, "O_RDWR")]
    [InlineData(10L, "O_WRONLY|O_APPEND")]
    public void Access_PermissionMask_IsSaidAsOpenFlags(long mask, string? expected)
    {
        Assert.Equal(expected, KernelFunctions.Access(mask));
    }

    [Fact]
    public void Lower_AlreadyLowerCase_ReturnsTheSameString()
    {
        var name = "tcp_connect";
        Assert.Same(name, KernelFunctions.Lower(name));
        Assert.Equal("tcp_connect", KernelFunctions.Lower("TCP_Connect"));
    }
}
