package main

import (
	"os"
	"testing"

	"github.com/kalends/kalends/dav/auth"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	auth.Cost = bcrypt.MinCost
	os.Exit(m.Run())
}
