"""What the C library's resolver sees, for a gateway started in a mount namespace of its own:
a hosts file the test writes, and a name server that never answers."""
import os
import socket


class Hosts:
    """A hosts file that a process started under `wrap` sees as /etc/hosts, giving name the
    addresses of the last set(). Written in place: the bind mount holds the file, not its name."""

    def __init__(self, folder, name="api.test"):
        self.path = os.path.join(str(folder), "hosts")
        self.name = name
        self.set([])

    def set(self, addresses):
        with open(self.path, "w") as f:
            f.write("127.0.0.1 localhost\n")
            f.writelines("%s %s\n" % (a, self.name) for a in addresses)

    @property
    def wrap(self):
        return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                self.path]

    def wrap_with_resolver(self, resolv_conf):
        """wrap, with resolv_conf as /etc/resolv.conf too."""
        return ["unshare", "--mount", "sh", "-c",
                'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && shift && '
                'exec "$@"', self.path, resolv_conf]


class SilentNameServer:
    """A name server on 127.0.0.77:53 that reads queries and never answers, and a resolv.conf
    (path) naming it with a timeout of timeout_s: a lookup of a name the hosts file lacks then
    takes that long."""

    def __init__(self, folder, timeout_s=20):
        self.path = os.path.join(str(folder), "resolv.conf")
        with open(self.path, "w") as f:
            f.write("nameserver 127.0.0.77\noptions timeout:%d attempts:1\n" % timeout_s)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.77", 53))
        self.sock.settimeout(10)

    def wait_query(self):
        """Returns once a query came (a lookup is now waiting on us)."""
        self.sock.recvfrom(512)

    def close(self):
        self.sock.close()
