/* aj_error.c - names and messages of the error enum. */
#include "aj_error.h"

static const char *const aj_err_names[] = {
#define AJ_ERR_NAME(name, msg) #name,
    AJ_ERR_MAP(AJ_ERR_NAME)
#undef AJ_ERR_NAME
};

static const char *const aj_err_msgs[] = {
#define AJ_ERR_MSG(name, msg) msg,
    AJ_ERR_MAP(AJ_ERR_MSG)
#undef AJ_ERR_MSG
};

const char *aj_err_name(aj_err err) {
    if ((unsigned)err >= AJ_E__COUNT) return "UNKNOWN";
    return aj_err_names[err];
}

const char *aj_err_str(aj_err err) {
    if ((unsigned)err >= AJ_E__COUNT) return "unknown error";
    return aj_err_msgs[err];
}

int aj_err_is_reject(aj_err err) {
    return err >= AJ_E__FIRST_REJECT && err < AJ_E__COUNT;
}
