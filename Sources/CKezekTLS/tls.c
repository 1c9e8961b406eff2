#include "CKezekTLS.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kz_tls {
    SSL *ssl;
    BIO *in;   // ciphertext from the peer (owned by ssl)
    BIO *out;  // ciphertext to the peer (owned by ssl)
    char error[256];
};

static void last_error(char *out, size_t size, const char *what) {
    unsigned long code = ERR_peek_last_error();
    char reason[200] = "unknown error";
    if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
    snprintf(out, size, "%s: %s", what, reason);
    ERR_clear_error();
}

void *kz_tls_context_new(const char *cert_file, const char *key_file, const char *ca_file,
                         int verify, int protocols, char *error, size_t error_size) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        last_error(error, error_size, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, (protocols & KZ_TLS_V1_2) ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, (protocols & KZ_TLS_V1_3) ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle connections give their 34 KB of record buffers back.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char session_context[] = "kezek";
    SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        last_error(error, error_size, "tls-cert-file");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        last_error(error, error_size, "tls-key-file");
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        last_error(error, error_size, "tls-key-file does not match tls-cert-file");
        goto fail;
    }
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            last_error(error, error_size, "tls-ca-cert-file");
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
        if (names != NULL) SSL_CTX_set_client_CA_list(ctx, names);
    }
    int mode = SSL_VERIFY_NONE;
    if (verify == KZ_TLS_VERIFY_OPTIONAL) mode = SSL_VERIFY_PEER;
    if (verify == KZ_TLS_VERIFY_REQUIRED) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void kz_tls_context_free(void *context) { SSL_CTX_free((SSL_CTX *)context); }

kz_tls *kz_tls_new(void *context) {
    kz_tls *tls = calloc(1, sizeof *tls);
    if (tls == NULL) return NULL;
    tls->ssl = SSL_new((SSL_CTX *)context);
    tls->in = BIO_new(BIO_s_mem());
    tls->out = BIO_new(BIO_s_mem());
    if (tls->ssl == NULL || tls->in == NULL || tls->out == NULL) {
        if (tls->ssl) SSL_free(tls->ssl);
        if (tls->in) BIO_free(tls->in);
        if (tls->out) BIO_free(tls->out);
        free(tls);
        return NULL;
    }
    // An empty input BIO says "retry" rather than "end of file".
    BIO_set_mem_eof_return(tls->in, -1);
    BIO_set_mem_eof_return(tls->out, -1);
    SSL_set_bio(tls->ssl, tls->in, tls->out);
    SSL_set_accept_state(tls->ssl);
    return tls;
}

void kz_tls_free(kz_tls *tls) {
    if (tls == NULL) return;
    SSL_free(tls->ssl);  // frees both BIOs
    free(tls);
}

int kz_tls_feed(kz_tls *tls, const void *bytes, size_t count) {
    while (count > 0) {
        int chunk = count > 1 << 30 ? 1 << 30 : (int)count;
        int written = BIO_write(tls->in, bytes, chunk);
        if (written <= 0) return -1;
        bytes = (const char *)bytes + written;
        count -= (size_t)written;
    }
    return 0;
}

static int fail(kz_tls *tls, int result, const char *what) {
    int code = SSL_get_error(tls->ssl, result);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    if (code == SSL_ERROR_ZERO_RETURN) return -1;
    long verify = SSL_get_verify_result(tls->ssl);
    if (verify != X509_V_OK) {
        snprintf(tls->error, sizeof tls->error, "%s: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
    } else {
        last_error(tls->error, sizeof tls->error, what);
    }
    return -2;
}

long kz_tls_read(kz_tls *tls, void *out, size_t size) {
    ERR_clear_error();
    int chunk = size > 1 << 30 ? 1 << 30 : (int)size;
    int read = SSL_read(tls->ssl, out, chunk);
    if (read > 0) return read;
    return fail(tls, read, SSL_is_init_finished(tls->ssl) ? "TLS read" : "TLS handshake");
}

int kz_tls_write(kz_tls *tls, const void *bytes, size_t count) {
    if (!SSL_is_init_finished(tls->ssl)) return 0;
    while (count > 0) {
        ERR_clear_error();
        int chunk = count > 1 << 30 ? 1 << 30 : (int)count;
        int written = SSL_write(tls->ssl, bytes, chunk);
        if (written <= 0) return fail(tls, written, "TLS write") == 0 ? 0 : -2;
        bytes = (const char *)bytes + written;
        count -= (size_t)written;
    }
    return 1;
}

size_t kz_tls_pending(kz_tls *tls) { return BIO_ctrl_pending(tls->out); }

size_t kz_tls_take(kz_tls *tls, void *out, size_t size) {
    int chunk = size > 1 << 30 ? 1 << 30 : (int)size;
    int read = BIO_read(tls->out, out, chunk);
    return read > 0 ? (size_t)read : 0;
}

void kz_tls_shutdown(kz_tls *tls) {
    if (SSL_is_init_finished(tls->ssl) && !(SSL_get_shutdown(tls->ssl) & SSL_SENT_SHUTDOWN)) {
        SSL_shutdown(tls->ssl);
        ERR_clear_error();
    }
}

int kz_tls_established(kz_tls *tls) { return SSL_is_init_finished(tls->ssl); }

const char *kz_tls_error(kz_tls *tls) { return tls->error; }

const char *kz_tls_version(kz_tls *tls) { return SSL_get_version(tls->ssl); }
