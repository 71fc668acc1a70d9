// Package democard is the Belgian eID card of `relay serve --demo`: a SoftHSM2 token that
// the demo initialises itself, holding a "Signature" RSA key that wants the PIN for every
// signature (as a real card's does) and a qualified certificate for it from the dev CA,
// whose subject carries a name and a national number like an eID signature certificate.
// The relay signs with it through the real PKCS#11 backend (pkcs11signer); the PIN is
// asked in the signer's page, as a card reader would, and travels as the protocol's otp
// answer. Without SoftHSM2 (or without cgo) the demo offers no eID and says why.
package democard

import (
	"context"
	"errors"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
	"github.com/veilsign/veilsign/relay/protocol"
)

// PIN is the demo card's PIN; the page says it, as the itsme simulator says its own.
const PIN = "1234"

// Holder is whose card it is: a real card belongs to one person, whoever the portal's
// signer is.
const Holder = "Eva Peeters"

// TokenLabel is the label of the token, as a Belgian eID card's.
const TokenLabel = "BELPIC"

// ErrNoSoftHSM says why the demo has no eID card.
var ErrNoSoftHSM = errors.New("the demo eID card needs SoftHSM2 (apt-get install softhsm2)")

// reader puts the card in a card reader: the PIN is asked of the signer in the page, for
// each signature, through the session's Interaction.
type reader struct {
	*pkcs11signer.Signer
}

type interactionKey struct{}

func (r reader) Sign(ctx context.Context, req backend.Request, in backend.Interaction) (backend.Result, error) {
	return r.Signer.Sign(context.WithValue(ctx, interactionKey{}, in), req, in)
}

// askPIN is the pkcs11signer's PINFunc: an otp-sent status with a sentence for the page,
// then the code it sends back.
func askPIN(ctx context.Context) (string, error) {
	in, ok := ctx.Value(interactionKey{}).(backend.Interaction)
	if !ok || in == nil {
		return "", errors.New("democard: no signer to ask for the PIN")
	}
	in.Status(protocol.StateOTPSent, "", "Type the PIN of the eID card in the card reader (demo card: "+PIN+")")
	return in.OTP(ctx)
}
