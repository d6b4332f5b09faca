package pebblelog

import (
	"fmt"

	"github.com/rs/zerolog"
)

// pebbleLogger routes Pebble's messages to zerolog instead of the standard
// library's log package, which would write to stderr.
type pebbleLogger struct{ z zerolog.Logger }

// Infof carries Pebble's routine chatter (WAL recovery, compactions); an
// operator only needs it while debugging the store.
func (p pebbleLogger) Infof(format string, args ...any) { p.z.Debug().Msgf(format, args...) }

func (p pebbleLogger) Errorf(format string, args ...any) { p.z.Error().Msgf(format, args...) }

// Fatalf must not return: Pebble calls it on corruption it cannot continue
// past. Panicking (rather than zerolog's os.Exit, which a disabled logger
// skips) stops the process even when logging is off, and keeps the stack.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.z.WithLevel(zerolog.FatalLevel).Msg(msg)
	panic("pebble: " + msg)
}
