package sshpush

import "strconv"

// cksumTable is the CRC-32 table of POSIX cksum (polynomial 0x04C11DB7,
// most significant bit first).
var cksumTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// posixCksum is what `cksum < FILE` prints for data: "CRC LENGTH". Every
// Unix has cksum, which is why the write script compares files with it.
func posixCksum(data []byte) string {
	var crc uint32
	for _, b := range data {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^b]
	}
	for n := len(data); n > 0; n >>= 8 {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^byte(n)]
	}
	return strconv.FormatUint(uint64(^crc), 10) + " " + strconv.Itoa(len(data))
}
