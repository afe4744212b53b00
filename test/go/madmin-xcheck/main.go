// Command madmin-xcheck is rekey's live cross-check against the real madmin-go
// (Debian's golang-github-minio-madmin-go-dev, 2.0.7). It is test tooling only.
//
// It reads one JSON request per line on stdin and writes one JSON answer per line:
//
//	{"op":"encrypt","password":"..","dataHex":".."}      madmin.EncryptData (ID 0x00, or 0x02 when built with -tags fips)
//	{"op":"decrypt","password":"..","dataHex":".."}      madmin.DecryptData (any ID)
//	{"op":"encryptWith","password":"..","dataHex":"..","id":1,"saltHex":"..","nonceHex":".."}
//	    the same steps as madmin.EncryptData with a chosen ID, salt and nonce, through the same
//	    libraries (sio-go, x/crypto/argon2, x/crypto/pbkdf2): madmin-go picks the ID itself
//	    (0x01 only on CPUs without AES instructions), so this is how Go produces IDs 0x01 here.
//	{"op":"info"}                                         which ID madmin.EncryptData picks in this build
//
// answer: {"ok":true,"hex":".."} or {"ok":false,"error":".."}
//
// With arguments `bench N [size]` it instead times N calls of madmin.EncryptData over a
// size-byte body (default 100) and prints {"n":N,"nsPerOp":..}.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/minio/madmin-go"
	"github.com/secure-io/sio-go"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/pbkdf2"
)

type request struct {
	Op       string `json:"op"`
	Password string `json:"password"`
	DataHex  string `json:"dataHex"`
	ID       int    `json:"id"`
	SaltHex  string `json:"saltHex"`
	NonceHex string `json:"nonceHex"`
}

type answer struct {
	OK    bool   `json:"ok"`
	Hex   string `json:"hex,omitempty"`
	Error string `json:"error,omitempty"`
}

func encryptWith(password string, data []byte, id byte, salt, nonce []byte) ([]byte, error) {
	var (
		stream *sio.Stream
		err    error
	)
	switch id {
	case 0:
		stream, err = sio.AES_256_GCM.Stream(argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32))
	case 1:
		stream, err = sio.ChaCha20Poly1305.Stream(argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32))
	case 2:
		stream, err = sio.AES_256_GCM.Stream(pbkdf2.Key([]byte(password), salt, 8192, 32, sha256.New))
	default:
		return nil, fmt.Errorf("unknown id %d", id)
	}
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(salt)
	out.WriteByte(id)
	out.Write(nonce)
	w := stream.EncryptWriter(&out, nonce, nil)
	if _, err = w.Write(data); err != nil {
		return nil, err
	}
	if err = w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func handle(r request) answer {
	data, err := hex.DecodeString(r.DataHex)
	if err != nil {
		return answer{Error: "dataHex: " + err.Error()}
	}
	var out []byte
	switch r.Op {
	case "encrypt":
		out, err = madmin.EncryptData(r.Password, data)
	case "decrypt":
		out, err = madmin.DecryptData(r.Password, bytes.NewReader(data))
	case "encryptWith":
		salt, err1 := hex.DecodeString(r.SaltHex)
		nonce, err2 := hex.DecodeString(r.NonceHex)
		if err1 != nil || err2 != nil || len(salt) != 32 || len(nonce) != 8 {
			return answer{Error: "saltHex must be 32 bytes and nonceHex 8 bytes"}
		}
		out, err = encryptWith(r.Password, data, byte(r.ID), salt, nonce)
	case "info":
		ct, err2 := madmin.EncryptData("x", nil)
		if err2 != nil {
			return answer{Error: err2.Error()}
		}
		return answer{OK: true, Hex: hex.EncodeToString(ct[32:33])}
	default:
		return answer{Error: "unknown op " + r.Op}
	}
	if err != nil {
		return answer{Error: err.Error()}
	}
	return answer{OK: true, Hex: hex.EncodeToString(out)}
}

func bench(n, size int) {
	body := bytes.Repeat([]byte{'x'}, size)
	if _, err := madmin.EncryptData("adminsecretkey123", body); err != nil { // warm-up
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := madmin.EncryptData("adminsecretkey123", body); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	elapsed := time.Since(start)
	_ = json.NewEncoder(os.Stdout).Encode(map[string]int64{"n": int64(n), "nsPerOp": elapsed.Nanoseconds() / int64(n)})
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "bench" {
		n, err := strconv.Atoi(os.Args[2])
		size := 100
		if len(os.Args) >= 4 {
			size, _ = strconv.Atoi(os.Args[3])
		}
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "usage: madmin-xcheck bench N [size]")
			os.Exit(2)
		}
		bench(n, size)
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			_ = enc.Encode(answer{Error: "bad request: " + err.Error()})
			continue
		}
		_ = enc.Encode(handle(r))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
