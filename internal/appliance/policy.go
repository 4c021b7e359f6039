package appliance
