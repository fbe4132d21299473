"""A real redis-server on a free port, for the rate-limit tests: no persistence, killed at the end.
With tls (a CertAuthority), it speaks only TLS and asks clients for a certificate of that CA."""
import subprocess

from testenv import free_port, wait_port


class Redis:
    def __init__(self, tls=None, password=None):
        self.port = free_port()
        self.proc = None
        self.args = []
        self.cli = ["redis-cli", "-p", str(self.port)]
        if tls:
            cert, key = tls.issue("redis", "127.0.0.1", dns=["redis.test"], ips=["127.0.0.1"])
            self.args = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert,
                         "--tls-key-file", key, "--tls-ca-cert-file", tls.ca_file,
                         "--tls-auth-clients", "yes"]
            cli_cert, cli_key = tls.issue("redis-cli", "redis-cli", client=True)
            self.cli += ["--tls", "--cacert", tls.ca_file, "--cert", cli_cert, "--key", cli_key]
        else:
            self.args = ["--port", str(self.port)]
        if password:
            self.args += ["--requirepass", password]
            self.cli += ["--no-auth-warning", "-a", password]

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"] + self.args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)
        return self

    def command(self, *args):
        """One command through redis-cli (over TLS too): its output."""
        return subprocess.run(self.cli + list(args), capture_output=True, text=True, check=True).stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
