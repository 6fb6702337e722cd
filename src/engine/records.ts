// Result lines of the target-side scripts carry a random nonce drawn once per run: "@@fd-NONCE
// KEY VALUE". Build output and anything the app prints go through the same stdout, and a line
// of theirs that looks like a result ("@@fd health pass") must stay log text: they cannot know
// the nonce, which reaches the scripts only as FD_NONCE (a shell variable, never exported).
import { randomBytes } from 'node:crypto'

export const RECORD_NONCE = randomBytes(12).toString('hex')
export const RECORD_PREFIX = `@@fd-${RECORD_NONCE} `
