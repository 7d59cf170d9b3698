package sshkey

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Public keys that were imported into a real Nova 26 (Zed) and the
// fingerprints it returned, exactly as sent: each line ends in "\n".
const (
	novaRSA     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCospfJHkCKpq6IydUq8pMm2BryIoX2yvZg5epqhB1o/jTbKvYc/Xx/oglp9HivcShtThDXYfP1209zzgTljWD3A6Fgy3p79dpir9BAm3KDdZENAiISs1G5Cvs2IvzY8VpgLPVDVofSsxVWGF/OvrCCkgZ5i6qSBSBdorMOLqo/hBZVoY1H3XFePelpsJThyhxVyB/MawjvFmc+iG06xX5Kx+ZI8aV5j5xxdfQonCSUdP5H9NFwEBvtZX5JjkZ+RzM/p8FQ5WPAXY2Dx8+lJwRgcxHhAr9YuHMycq97ihvx2H1m2LYzv38hF8CGG7pxbNqYULIVDvSsyP4St41sTsuL alice@example\n"
	novaRSA4096 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQCp1jYxTf1Ibarb409uka3+OC15FeNkSKLcMT+1WSuQoWyVhPc1plGUopH9bATtwHY/7dyyFqEw2YUrhKileP1vNNDDmG28QP7jXr1lCYrOoiiCn/5tsDDbrS45fQllitiFkCpJ2aT8m7q4GG0xVKt3wlhv7gqOXofVxIEMD0CPIi5fuHJgwgsQDx7TXLhCNhTYknlm3YtPtp6d/nZss8rlplY5+sbTGnDqINAlA5HnXpyH5NYUhGzAgB4EzE/hYwb+439JzvBW9fVg9ACgFRPfHQwjFVe22aj3WKK3FZuykKsm6LPhaXkLKsBCupogYbwIgHkA48PRaoF9pdQCdU2YwnNgmOOPaMHXkPJxoKH52Wvr+ouGsaItIAVgKht4XHDFumNYgD2e9mvq+7CL0jVi3EcwE8VNRfsoDtBCXoCgfzcAhwkG1nkVIW50i03BMQYu39jcQIlKSsJ2AE+jf/Vl4jubwpRZNOk6q+8kmtuD46iXf6ls9Wr/QZBA0k/bTi2JGE/17E9IVjS4jjniUWwX0e7VPl9DNOjeoBoO65MupCdkdqHC0aYFbh0+lSBLCaqWiRCvBiBysC0zMDgXdrhak/jieUMaOH8Hsh4TB2tBz9tKvnL7dPicNHyCKhSwrf2mggMuLeGZmG5ICdoxlN1fzINzjc30QkgfZCpGuYGPmw== big\n"
	novaEd      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu ed\n"
	novaEC256   = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAby+xbY+5j8cnwVzNz7PCGDhgoSKdUAIETEOJWZMfZ81ilfZUQiY8/w6RPIXjAh+Q6xQXOxoxOzSWkfuRCAoRg= root@vm\n"
	novaEC384   = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBAXYlGM5ePSRCsYBk9ZfEISdukOHNQDCoYwuYMHtpzfC99YzvKJ5pbf/snrZ8GkZevvH5H9PdFk/R7dQHSEtEeUqIy9/Td6bYWVT2A64l6a7cO/IsIGm8XSN52lPvEvw+w== root@vm\n"
	novaEC521   = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABXYxXerlx+9NLdslSgAsX1lTdqPYhvFB24Nyx1ZyEdroK/yWtBHHmlrNIHSYqbAzF9AKSDHWUhctKMEvnnb4NungGu4sF/uZLM7OZWSdaUmAzOE1LT2mq3kMp6D6L0g3/CVfGOUBkcjdxfboIvwVj1/79DIBZIXST6rMQbxTcbahNoow== root@vm\n"
	novaDSA     = "ssh-dss AAAAB3NzaC1kc3MAAACBAO+8lpC8PeDYh2PmmWb+xZ7Z1TmvL7R3T3m0l3x0SNAsfGdyqC7jXcb5P/wwhXlk7wjhIq8EIsx2Jv67oFsK1AdS83hA3pR0a8Rb0sjXGsu8q2dz6GzW/l702jExSLm+dB3XCx03RlGCuFQYFS0M0YgYhnUQnPfLD+atbgufY1p1AAAAFQDrqVMJPvoGex/dExizX6lpiL+7+QAAAIBnYmpJpxVGEuAQdoKHKTZmxDqWZ+xccG414uDxflKD7O57mXAd7Z4ZaWkG7GwioOemIdYl4nKRBelFNehy1jEnqmuQ4Y2BuHknTe85W9QwZX4zWEJagWjH8sZQOvMeFSMrnVMv587A1EsQWv1LcMUEqr6OPsgNAjsJY09wnuymKgAAAIEAmrgvoPLNJshw2CbXlOAAamXW8D0HXWlBWIAYk9fJ6wFXDEmgC+6xvtIqei/atiGPZm20GzLSFi/j+F17FqzojtFii3kSFJNt03TOD8fll/8D5salZl3ZqHern6SmQzsIItmNd4T3kBEFfzn4K2YqdPAWXxIqYBwuj71BUivSojs= root@vm\n"

	// novaEdPrivate is the private half of novaEd, which Nova refused.
	novaEdPrivate = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACAawoxvXwm/QgrYuV/7nUpAbT4UI9cS2x8ROJuiv0aVrgAAAIgfNvx3Hzb8\ndwAAAAtzc2gtZWQyNTUxOQAAACAawoxvXwm/QgrYuV/7nUpAbT4UI9cS2x8ROJuiv0aVrg\nAAAEDK1H6xVoUs+EMCuCd0Vjkcr7+GNIAt5rgklp5YIKpJ6BrCjG9fCb9CCti5X/udSkBt\nPhQj1xLbHxE4m6K/RpWuAAAAAmVkAQID\n-----END OPENSSH PRIVATE KEY-----\n"

	// novaCert was imported as an x509 key pair; Nova's fingerprint for it
	// is novaCertFingerprint.
	novaCert = `-----BEGIN CERTIFICATE-----
MIIDATCCAemgAwIBAgIUBA9WLYGUgnSrU+5N1J7wKQGHka0wDQYJKoZIhvcNAQEL
BQAwEDEOMAwGA1UEAwwFYWxpY2UwHhcNMjYxMTIyMTUzMTM0WhcNMzYxMTE5MTUz
MTM0WjAQMQ4wDAYDVQQDDAVhbGljZTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC
AQoCggEBANr5Y5VrhSDno58cbr2dx4stlHmuwtZikjTgf1xRiukT4KZrvK0VhkqP
0PDc/TALrCBo8htlKq410TT2q+GmhJOA5WeT3OiTcJpHPrIRquAeDpkL/zrpKVbz
IakQQkQz/GRU6Sw6UWr4rgVUxKMi4SkLN4GNzj49KR/xEaqoEp4F+Id1NaIcfqKB
2jKoTQuDNPhRNr9gGL+++eIH/NmpoZGhyiBpVWO+iO8BHRersvHfxPi46Y/EVUbe
ssCUASskzY3JgjZjKpEtCSamag7FRHX7V/nHUjAEcfCK60YGpz+6TSm50Q/7gZMy
XlOOmog2YPWzSInNVuGHFpcrNnC/pesCAwEAAaNTMFEwHQYDVR0OBBYEFNX8vj/u
5agJpPN5/mizahZTwDH6MB8GA1UdIwQYMBaAFNX8vj/u5agJpPN5/mizahZTwDH6
MA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAM65pO1NnQvjbrx0
rZLEMlXorGleQdHv31RCwGxiyh7LxoKULOqUSvnwbvqNbsRRlPfY35lyyVZ2iDGo
AC6erHc85x3wm6+GrgioHbh0an+YSrjAym3mnmunLXUhuBzEPq7fe7UVZthMcG18
dSRzwN6Pqe9/iuW5gHZ7lxGSTu39HxfZb1cc+gw1wqo8gWisYRepd70bf0lGaI6Y
7DraDAUM2Rj6DpbaxLLGV5gYAP30uzqsbK4heEjMIe6nhysG9VuONKrBSkLoT7QD
YdqG4c6tFt0/hkf5mm+PvLA99AWOJEFe1oDeaoDO2RB4Y95URH0VxaniuAHmSGLI
E4F4nO0=
-----END CERTIFICATE-----
`
	novaCertFingerprint = "0f:b6:35:b2:ac:ed:96:5a:35:07:5b:a4:88:8d:23:06:36:0d:23:99"
)

// field returns the i'th space-separated field of an OpenSSH line.
func field(line string, i int) string {
	return strings.Fields(line)[i]
}

// needTool skips the test when an external program is not installed.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// run runs a program and returns its standard output, failing the test
// with its standard error on failure.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// writeFile writes data to name in a fresh temporary directory.
func writeFile(t testing.TB, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// keygenFingerprints returns what `ssh-keygen -l` prints as the MD5
// (without "MD5:") and SHA-256 fingerprints of the public key in file.
func keygenFingerprints(t testing.TB, file string) (md5, sha256 string) {
	t.Helper()
	md5 = strings.TrimPrefix(field(run(t, "ssh-keygen", "-l", "-E", "md5", "-f", file), 1), "MD5:")
	sha256 = field(run(t, "ssh-keygen", "-l", "-E", "sha256", "-f", file), 1)
	return md5, sha256
}

// execOutput runs a program and returns its combined output.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
