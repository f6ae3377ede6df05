/* A thin C layer over libsrtp2: one session per call of peer_create, its policy built here. */
#include <string.h>
#include <srtp2/srtp.h>

int peer_init(void) { return (int)srtp_init(); }

/* profile: the RFC 5764 / RFC 7714 profile number (1, 2, 7, 8). inbound: 1 for a receiving
 * session (any inbound SSRC), 0 for sending. key_salt: master key then master salt. */
int peer_create(srtp_t *out, int profile, const unsigned char *key_salt, int inbound,
                unsigned long window) {
    srtp_policy_t policy;
    unsigned char key[64];
    memset(&policy, 0, sizeof(policy));
    memset(key, 0, sizeof(key));
    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, (srtp_profile_t)profile) !=
        srtp_err_status_ok)
        return -1;
    if (srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, (srtp_profile_t)profile) !=
        srtp_err_status_ok)
        return -1;
    unsigned int len = srtp_profile_get_master_key_length((srtp_profile_t)profile) +
                       srtp_profile_get_master_salt_length((srtp_profile_t)profile);
    if (len > sizeof(key))
        return -1;
    memcpy(key, key_salt, len);
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = key;
    policy.window_size = window;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;
    int status = (int)srtp_create(out, &policy);
    memset(key, 0, sizeof(key));
    return status;
}

int peer_protect(srtp_t s, void *buf, int *len) { return (int)srtp_protect(s, buf, len); }
int peer_unprotect(srtp_t s, void *buf, int *len) { return (int)srtp_unprotect(s, buf, len); }
int peer_protect_rtcp(srtp_t s, void *buf, int *len) { return (int)srtp_protect_rtcp(s, buf, len); }
int peer_unprotect_rtcp(srtp_t s, void *buf, int *len) {
    return (int)srtp_unprotect_rtcp(s, buf, len);
}
void peer_dealloc(srtp_t s) { srtp_dealloc(s); }
